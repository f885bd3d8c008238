package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j TOS --set-tos value[/mask] | --set-tos NAME | --and-tos bits |
// --or-tos bits | --xor-tos bits (libxt_TOS.c, revision 1). iptables-save
// prints every form as --set-tos 0xVV/0xMM.
func init() {
	register(&extension{
		name:   "TOS",
		target: true,
		parser: func(*ruleContext) extParser { return &tosParser{seen: tgSeen{}} },
		save: func(w *saver, x any) {
			t := x.(*filter.TOSTarget)
			w.opt(false, "set-tos", fmt.Sprintf("0x%02x/0x%02x", t.Value, t.Mask))
		},
		owns: ownedBy[filter.TOSTarget](),
	})
}

var tosOpts = []string{"set-tos", "and-tos", "or-tos", "xor-tos"}

type tosParser struct {
	t    filter.TOSTarget
	seen tgSeen
}

func (p *tosParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, tosOpts...)
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("TOS", name)
	}
	if err := p.seen.once("TOS", name); err != nil {
		return err
	}
	if err := p.seen.excl("TOS", name, tosOpts...); err != nil {
		return err
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if name == "set-tos" {
		p.t, err = parseTOSValue(v)
		return err
	}
	n, err := optUint("TOS", name, v, 0, 0xFF)
	if err != nil {
		return err
	}
	b := uint8(n)
	switch name {
	case "and-tos":
		p.t = filter.TOSTarget{Value: 0, Mask: ^b}
	case "or-tos":
		p.t = filter.TOSTarget{Value: b, Mask: b}
	case "xor-tos":
		p.t = filter.TOSTarget{Value: b, Mask: 0}
	}
	return nil
}

// parseTOSValue is tos_parse_symbolic: a number with an optional mask
// (default 0xff), else a name (mask 0x3f).
func parseTOSValue(s string) (filter.TOSTarget, error) {
	if v, rest, ok := strtouiPrefix(s, 0, 0xFF); ok {
		m := uint64(0xFF)
		if strings.HasPrefix(rest, "/") {
			if m, rest, ok = strtouiPrefix(rest[1:], 0, 0xFF); !ok {
				return filter.TOSTarget{}, fmt.Errorf("%w: Illegal value: \"%s\"", ErrBadArgument, s)
			}
		}
		if rest != "" {
			return filter.TOSTarget{}, fmt.Errorf("%w: Illegal value: \"%s\"", ErrBadArgument, s)
		}
		return filter.TOSTarget{Value: uint8(v), Mask: uint8(m)}, nil
	}
	if v, ok := parseTOSName(s); ok {
		return filter.TOSTarget{Value: v, Mask: 0x3f}, nil
	}
	return filter.TOSTarget{}, fmt.Errorf("%w: Symbolic name \"%s\" is unknown", ErrBadArgument, s)
}

func (p *tosParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: TOS: An action is required", ErrSyntax)
	}
	t := p.t
	return &t, nil
}
