package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m ttl --ttl-eq/--ttl-lt/--ttl-gt (libipt_ttl.c, IPv4) and -m hl
// --hl-eq/--hl-lt/--hl-gt (libip6t_hl.c, IPv6). Only --ttl-eq and
// --hl-eq take '!' (which makes the "ne" mode), and exactly one option is
// allowed.
func init() {
	modes := [...]string{filter.TTLCompareEq: "eq", filter.TTLCompareNe: "eq", filter.TTLCompareLt: "lt", filter.TTLCompareGt: "gt"}
	register(&extension{
		name:   "ttl",
		family: packet.IPv4,
		parser: func(*ruleContext) extParser { return &ttlMatchParser{ext: "ttl"} },
		save: func(w *saver, x any) {
			m := x.(*filter.TTLMatch)
			w.opt(m.Mode == filter.TTLCompareNe, "ttl-"+modes[m.Mode], strconv.Itoa(int(m.Value)))
		},
		owns: ownedBy[filter.TTLMatch](),
	})
	register(&extension{
		name:   "hl",
		family: packet.IPv6,
		parser: func(*ruleContext) extParser { return &ttlMatchParser{ext: "hl"} },
		save: func(w *saver, x any) {
			m := x.(*filter.HLMatch)
			w.opt(m.Mode == filter.TTLCompareNe, "hl-"+modes[m.Mode], strconv.Itoa(int(m.Value)))
		},
		owns: ownedBy[filter.HLMatch](),
	})
}

type ttlMatchParser struct {
	ext   string
	seen  string
	mode  filter.TTLCompare
	value uint8
}

func (p *ttlMatchParser) option(name string, invert bool, a *args) error {
	var mode filter.TTLCompare
	switch name {
	case p.ext + "-eq":
		mode = filter.TTLCompareEq
		if invert {
			mode = filter.TTLCompareNe
		}
	case p.ext + "-lt":
		mode = filter.TTLCompareLt
	case p.ext + "-gt":
		mode = filter.TTLCompareGt
	default:
		return errNotMine
	}
	if p.seen != "" {
		if p.seen == name {
			return onceErr(p.ext, name)
		}
		return fmt.Errorf("%w: %s: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, p.ext, name, p.seen)
	}
	if invert && mode != filter.TTLCompareNe {
		return noInvertErr(p.ext, name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	n, err := optUint(p.ext, name, v, 0, 255)
	if err != nil {
		return err
	}
	p.seen, p.mode, p.value = name, mode, uint8(n)
	return nil
}

func (p *ttlMatchParser) done() (any, error) {
	if p.seen == "" {
		return nil, fmt.Errorf("%w: %s: At least one option is required", ErrSyntax, p.ext)
	}
	if p.ext == "hl" {
		return &filter.HLMatch{Mode: p.mode, Value: p.value}, nil
	}
	return &filter.TTLMatch{Mode: p.mode, Value: p.value}, nil
}
