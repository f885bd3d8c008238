package iptables

import (
	"fmt"
	"strings"

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

// dscpClasses are the DiffServ class names (RFC 2474 class selectors,
// RFC 2597 assured forwarding, RFC 3246 expedited forwarding) that
// libxt_dscp_helper knows.
var dscpClasses = []struct {
	name string
	dscp uint8
}{
	{"CS0", 0x00}, {"CS1", 0x08}, {"CS2", 0x10}, {"CS3", 0x18},
	{"CS4", 0x20}, {"CS5", 0x28}, {"CS6", 0x30}, {"CS7", 0x38},
	{"BE", 0x00},
	{"AF11", 0x0a}, {"AF12", 0x0c}, {"AF13", 0x0e},
	{"AF21", 0x12}, {"AF22", 0x14}, {"AF23", 0x16},
	{"AF31", 0x1a}, {"AF32", 0x1c}, {"AF33", 0x1e},
	{"AF41", 0x22}, {"AF42", 0x24}, {"AF43", 0x26},
	{"EF", 0x2e},
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
	// class_to_dscp compares only as many characters as the class name
	// has, so "efx" is EF; the first class in table order wins.
	for _, c := range dscpClasses {
		if len(v) >= len(c.name) && strings.EqualFold(c.name, v[:len(c.name)]) {
			p.dscp = c.dscp
			return nil
		}
	}
	return fmt.Errorf("%w: Invalid DSCP value `%s'", ErrBadArgument, v)
}

func (p *dscpParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: DSCP target: Parameter --set-dscp is required", ErrSyntax)
	}
	return &filter.DSCPTarget{DSCP: p.dscp}, nil
}
