package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -m length --length MIN[:MAX] (libxt_length.c, xtopt XTTYPE_UINT16RC).
// A reversed range is accepted, and never matches.
func init() {
	type m = filter.LengthMatch
	declare(&declared[m]{
		name: "length",
		opts: []declOpt[m]{{name: "length", invert: true, must: true,
			set: setUintRange(func(x *m) *uint16 { return &x.Min }, func(x *m) *uint16 { return &x.Max }, 0xFFFF, func(x *m) *bool { return &x.Invert })}},
		save: func(w *saver, x *m) { w.opt(x.Invert, "length", formatPortRange(x.Min, x.Max)) },
	})
}
