package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -j MARK --set-xmark v[/m] | --set-mark v[/m] | --and-mark v |
// --or-mark v | --xor-mark v (libxt_MARK.c, revision 2). iptables-save
// prints every form as --set-xmark 0xV/0xM.
func init() {
	register(&extension{
		name:   "MARK",
		target: true,
		parser: func(*ruleContext) extParser { return &markParser{seen: tgSeen{}} },
		save: func(w *saver, x any) {
			t := x.(*filter.MarkTarget)
			w.opt(false, "set-xmark", fmt.Sprintf("0x%x/0x%x", t.Mark, t.Mask))
		},
		owns: ownedBy[filter.MarkTarget](),
	})
}

var markOpts = []string{"set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"}

type markParser struct {
	t    filter.MarkTarget
	seen tgSeen
}

func (p *markParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, markOpts...)
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("MARK", name)
	}
	if err := p.seen.once("MARK", name); err != nil {
		return err
	}
	if err := p.seen.excl("MARK", name, markOpts...); err != nil {
		return err
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	p.t, err = parseXmark("MARK", name, v)
	return err
}

// parseXmark turns the MARK/CONNMARK value options into the xmark pair
// (value, mask) that the kernel applies as (mark &^ mask) ^ value.
func parseXmark(ext, name, v string) (filter.MarkTarget, error) {
	switch name {
	case "set-xmark", "set-mark":
		val, mask, err := parseMarkMask(ext, name, v)
		if err != nil {
			return filter.MarkTarget{}, err
		}
		if name == "set-mark" {
			mask |= val
		}
		return filter.MarkTarget{Mark: val, Mask: mask}, nil
	}
	n, ok := strtoui(v, 0, 0xFFFFFFFF)
	if !ok {
		return filter.MarkTarget{}, fmt.Errorf("%w: %s: bad value for option \"--%s\", or out of range (0-4294967295)", ErrBadArgument, ext, name)
	}
	u := uint32(n)
	switch name {
	case "and-mark":
		return filter.MarkTarget{Mark: 0, Mask: ^u}, nil
	case "or-mark":
		return filter.MarkTarget{Mark: u, Mask: u}, nil
	}
	return filter.MarkTarget{Mark: u, Mask: 0}, nil // xor-mark
}

func (p *markParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required", ErrSyntax)
	}
	t := p.t
	return &t, nil
}
