package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -m mark --mark value[/mask] (libxt_mark.c) and -m connmark --mark
// value[/mask] (libxt_connmark.c). Both print the mark in hex, with the
// mask only when it is not 0xffffffff.
func init() {
	register(&extension{
		name:   "mark",
		parser: func(*ruleContext) extParser { return &markMatchParser{ext: "mark"} },
		save: func(w *saver, x any) {
			m := x.(*filter.MarkMatch)
			w.opt(m.Invert, "mark", formatMarkMask(m.Mark, m.Mask))
		},
		owns: ownedBy[filter.MarkMatch](),
	})
	register(&extension{
		name:   "connmark",
		parser: func(*ruleContext) extParser { return &markMatchParser{ext: "connmark"} },
		save: func(w *saver, x any) {
			m := x.(*filter.ConnmarkMatch)
			w.opt(m.Invert, "mark", formatMarkMask(m.Mark, m.Mask))
		},
		owns: ownedBy[filter.ConnmarkMatch](),
	})
}

type markMatchParser struct {
	ext        string
	seen       bool
	mark, mask uint32
	invert     bool
}

func (p *markMatchParser) option(name string, invert bool, a *args) error {
	if name != "mark" {
		return errNotMine
	}
	if p.seen {
		return onceErr(p.ext, name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if p.mark, p.mask, err = parseMarkMask(p.ext, name, v); err != nil {
		return err
	}
	p.seen, p.invert = true, invert
	return nil
}

func (p *markMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr(p.ext, "mark")
	}
	if p.ext == "connmark" {
		return &filter.ConnmarkMatch{Mark: p.mark, Mask: p.mask, Invert: p.invert}, nil
	}
	return &filter.MarkMatch{Mark: p.mark, Mask: p.mask, Invert: p.invert}, nil
}
