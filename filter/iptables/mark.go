package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -m mark --mark value[/mask] (libxt_mark.c) and -m connmark --mark
// value[/mask] (libxt_connmark.c). Both print the mark in hex, with the
// mask only when it is not 0xffffffff.
func init() {
	declareMark[filter.MarkMatch]("mark", func(x *filter.MarkMatch) (*uint32, *uint32, *bool) { return &x.Mark, &x.Mask, &x.Invert })
	declareMark[filter.ConnmarkMatch]("connmark", func(x *filter.ConnmarkMatch) (*uint32, *uint32, *bool) { return &x.Mark, &x.Mask, &x.Invert })
}

// declareMark declares a match of one option, --mark value[/mask].
func declareMark[T any](name string, fields func(*T) (mark, mask *uint32, invert *bool)) {
	mark := func(x *T) *uint32 { m, _, _ := fields(x); return m }
	mask := func(x *T) *uint32 { _, m, _ := fields(x); return m }
	inv := func(x *T) *bool { _, _, i := fields(x); return i }
	declare(&declared[T]{
		name: name,
		opts: []declOpt[T]{{name: "mark", invert: true, must: true, set: setMarkMask(mark, mask, inv)}},
		save: func(w *saver, x *T) { w.opt(*inv(x), "mark", formatMarkMask(*mark(x), *mask(x))) },
	})
}
