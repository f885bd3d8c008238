package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j CLASSIFY --set-class MAJOR:MINOR (libxt_CLASSIFY.c), both in hex;
// iptables-save prints them as %04x:%04x.
func init() {
	register(&extension{
		name:   "CLASSIFY",
		target: true,
		parser: func(*ruleContext) extParser { return &classifyParser{} },
		save: func(w *saver, x any) {
			p := x.(*filter.ClassifyTarget).Priority
			w.opt(false, "set-class", fmt.Sprintf("%04x:%04x", p>>16, p&0xFFFF))
		},
		owns: ownedBy[filter.ClassifyTarget](),
	})
}

type classifyParser struct {
	t    filter.ClassifyTarget
	seen bool
}

func (p *classifyParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "set-class")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("CLASSIFY", name)
	}
	if p.seen {
		return onceErr("CLASSIFY", name)
	}
	p.seen = true
	v, err := a.value(name)
	if err != nil {
		return err
	}
	// sscanf("%x:%x"): hex numbers, 0x allowed, anything may follow the
	// second. TC_H_MAKE(major<<16, minor) keeps 32 bits, so a major
	// above 0xffff loses its high bits, as in iptables.
	bad := fmt.Errorf("%w: Bad class value \"%s\"", ErrBadArgument, v)
	maj, rest, ok := cStrtoul(v, 16)
	if !ok || !strings.HasPrefix(rest, ":") {
		return bad
	}
	min, _, ok := cStrtoul(rest[1:], 16)
	if !ok {
		return bad
	}
	p.t.Priority = uint32(maj)<<16 | uint32(min)&0xFFFF
	return nil
}

func (p *classifyParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("CLASSIFY", "set-class")
	}
	t := p.t
	return &t, nil
}
