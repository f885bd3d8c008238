package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -j DSCP --set-dscp N | --set-dscp-class CLASS (libxt_DSCP.c).
// iptables-save prints --set-dscp 0xNN either way.
func init() {
	register(&extension{
		name:   "DSCP",
		target: true,
		parser: func(*ruleContext) extParser { return &dscpParser{seen: tgSeen{}} },
		save: func(w *saver, x any) {
			w.opt(false, "set-dscp", fmt.Sprintf("0x%02x", x.(*filter.DSCPTarget).DSCP))
		},
		owns: ownedBy[filter.DSCPTarget](),
	})
}

type dscpParser struct {
	dscp uint8
	seen tgSeen
}

func (p *dscpParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "set-dscp", "set-dscp-class")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("DSCP", name)
	}
	if err := p.seen.once("DSCP", name); err != nil {
		return err
	}
	if err := p.seen.excl("DSCP", name, "set-dscp", "set-dscp-class"); err != nil {
		return err
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if name == "set-dscp" {
		n, err := optUint("DSCP", name, v, 0, 63)
		if err != nil {
			return err
		}
		p.dscp = uint8(n)
		return nil
	}
	if d, ok := parseDSCPClass(v); ok {
		p.dscp = d
		return nil
	}
	return fmt.Errorf("%w: Invalid DSCP value `%s'", ErrBadArgument, v)
}

func (p *dscpParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: DSCP target: Parameter --set-dscp is required", ErrSyntax)
	}
	return &filter.DSCPTarget{DSCP: p.dscp}, nil
}
