package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m tos --tos value[/mask] or a symbolic name (libxt_tos.c, revision 1).
// A number without a mask gets 0xff; the RFC 1349 names get 0x3f, the
// mask revision 0 implied. iptables-save prints "0x%02x/0x%02x".
func init() {
	register(&extension{
		name:   "tos",
		parser: func(*ruleContext) extParser { return &tosMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.TOSMatch)
			w.opt(m.Invert, "tos", fmt.Sprintf("0x%02x/0x%02x", m.Value, m.Mask))
		},
		owns: ownedBy[filter.TOSMatch](),
	})
}

type tosMatchParser struct {
	m    filter.TOSMatch
	seen bool
}

func (p *tosMatchParser) option(name string, invert bool, a *args) error {
	if name != "tos" {
		return errNotMine
	}
	if p.seen {
		return onceErr("tos", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	val, mask, err := parseTOS(v)
	if err != nil {
		return err
	}
	p.m, p.seen = filter.TOSMatch{Value: val, Mask: mask, Invert: invert}, true
	return nil
}

// parseTOS is tos_parse_symbolic.
func parseTOS(s string) (value, mask uint8, err error) {
	bad := fmt.Errorf("%w: tos: bad value for option \"--tos\", or out of range (0-255)", ErrBadArgument)
	if v, rest, ok := strtouiPrefix(s, 0, 255); ok {
		m := uint64(0xFF)
		if rest != "" {
			if rest[0] != '/' {
				return 0, 0, bad
			}
			if m, ok = strtoui(rest[1:], 0, 255); !ok {
				return 0, 0, bad
			}
		}
		return uint8(v), uint8(m), nil
	}
	if v, ok := parseTOSName(s); ok {
		return v, 0x3F, nil
	}
	return 0, 0, fmt.Errorf("%w: tos: Symbolic name \"%s\" is unknown", ErrBadArgument, s)
}

func (p *tosMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("tos", "tos")
	}
	return &p.m, nil
}
