package iptables

import (
	"github.com/nfgo/nfgo/filter"
)

// -m helper --helper NAME (libxt_helper.c). The kernel's name field holds
// 30 bytes, so longer names are cut to 29 characters, as iptables-save
// shows.
func init() {
	register(&extension{
		name:   "helper",
		parser: func(*ruleContext) extParser { return &helperMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.HelperMatch)
			w.opt(m.Invert, "helper", quote(m.Helper))
		},
		owns: ownedBy[filter.HelperMatch](),
	})
}

type helperMatchParser struct {
	m    filter.HelperMatch
	seen bool
}

func (p *helperMatchParser) option(name string, invert bool, a *args) error {
	if name != "helper" {
		return errNotMine
	}
	if p.seen {
		return onceErr("helper", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if len(v) > 29 {
		v = v[:29]
	}
	p.m, p.seen = filter.HelperMatch{Helper: v, Invert: invert}, true
	return nil
}

func (p *helperMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("helper", "helper")
	}
	return &p.m, nil
}
