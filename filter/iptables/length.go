package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -m length --length MIN[:MAX] (libxt_length.c, xtopt XTTYPE_UINT16RC).
// A reversed range is accepted, and never matches.
func init() {
	register(&extension{
		name:   "length",
		parser: func(*ruleContext) extParser { return &lengthMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.LengthMatch)
			w.opt(m.Invert, "length", formatPortRange(m.Min, m.Max))
		},
		owns: ownedBy[filter.LengthMatch](),
	})
}

type lengthMatchParser struct {
	m    filter.LengthMatch
	seen bool
}

func (p *lengthMatchParser) option(name string, invert bool, a *args) error {
	if name != "length" {
		return errNotMine
	}
	if p.seen {
		return onceErr("length", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	lo, hi, err := optUintRange("length", name, v, 0xFFFF)
	if err != nil {
		return err
	}
	p.m, p.seen = filter.LengthMatch{Min: uint16(lo), Max: uint16(hi), Invert: invert}, true
	return nil
}

func (p *lengthMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("length", "length")
	}
	return &p.m, nil
}
