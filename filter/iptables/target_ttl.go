package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j TTL --ttl-set N | --ttl-dec N | --ttl-inc N (libipt_TTL.c, IPv4)
// and -j HL --hl-set N | --hl-dec N | --hl-inc N (libip6t_HL.c, IPv6).
// Increments and decrements of 0 are refused: they would do nothing.
func init() {
	for _, k := range []struct {
		name, pfx string
		f         packet.Family
	}{{"TTL", "ttl", packet.IPv4}, {"HL", "hl", packet.IPv6}} {
		register(&extension{
			name:   k.name,
			family: k.f,
			target: true,
			parser: func(*ruleContext) extParser { return &ttlParser{name: k.name, pfx: k.pfx, seen: tgSeen{}} },
			save: func(w *saver, x any) {
				var mode filter.TTLMode
				var v uint8
				switch t := x.(type) {
				case *filter.TTLTarget:
					mode, v = t.Mode, t.Value
				case *filter.HLTarget:
					mode, v = t.Mode, t.Value
				}
				w.opt(false, k.pfx+ttlSuffix[mode], strconv.Itoa(int(v)))
			},
			owns: func(x any) bool {
				switch x.(type) {
				case *filter.TTLTarget:
					return k.name == "TTL"
				case *filter.HLTarget:
					return k.name == "HL"
				}
				return false
			},
		})
	}
}

var ttlSuffix = [...]string{filter.TTLSet: "-set", filter.TTLInc: "-inc", filter.TTLDec: "-dec"}

type ttlParser struct {
	name, pfx string
	mode      filter.TTLMode
	value     uint8
	seen      tgSeen
}

func (p *ttlParser) option(name string, invert bool, a *args) error {
	opts := []string{p.pfx + "-set", p.pfx + "-dec", p.pfx + "-inc"}
	name, err := tgOption(name, opts...)
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr(p.name, name)
	}
	if err := p.seen.once(p.name, name); err != nil {
		return err
	}
	if err := p.seen.excl(p.name, name, opts...); err != nil {
		return err
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	lo := uint64(1)
	switch name {
	case opts[0]:
		p.mode, lo = filter.TTLSet, 0
	case opts[1]:
		p.mode = filter.TTLDec
	case opts[2]:
		p.mode = filter.TTLInc
	}
	n, err := optUint(p.name, name, v, lo, 255)
	if err != nil {
		return err
	}
	p.value = uint8(n)
	return nil
}

func (p *ttlParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: %s: You must specify an action", ErrSyntax, p.name)
	}
	if p.name == "HL" {
		return &filter.HLTarget{Mode: p.mode, Value: p.value}, nil
	}
	return &filter.TTLTarget{Mode: p.mode, Value: p.value}, nil
}
