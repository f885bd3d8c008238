package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m dscp --dscp N | --dscp-class CLASS (libxt_dscp.c). The class names
// are the RFC 2474/2597/3246 ones; iptables-save prints "--dscp 0x%02x".
func init() {
	register(&extension{
		name:   "dscp",
		parser: func(*ruleContext) extParser { return &dscpMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.DSCPMatch)
			w.opt(m.Invert, "dscp", fmt.Sprintf("0x%02x", m.DSCP))
		},
		owns: ownedBy[filter.DSCPMatch](),
	})
}

// dscpMatchClasses are the class names (libxt_dscp_helper.c).
var dscpMatchClasses = []struct {
	name  string
	value uint8
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

// parseDSCPClass returns the code point of a class name (any case).
func parseDSCPClass(s string) (uint8, bool) {
	for _, c := range dscpMatchClasses {
		if strings.EqualFold(s, c.name) {
			return c.value, true
		}
	}
	return 0, false
}

type dscpMatchParser struct {
	m    filter.DSCPMatch
	seen string
}

func (p *dscpMatchParser) option(name string, invert bool, a *args) error {
	if name != "dscp" && name != "dscp-class" {
		return errNotMine
	}
	if p.seen != "" {
		if p.seen == name {
			return onceErr("dscp", name)
		}
		return fmt.Errorf("%w: dscp: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, name, p.seen)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	var d uint8
	if name == "dscp" {
		n, err := optUint("dscp", name, v, 0, 63)
		if err != nil {
			return err
		}
		d = uint8(n)
	} else {
		var ok bool
		if d, ok = parseDSCPClass(v); !ok {
			return fmt.Errorf("%w: Invalid DSCP value `%s'", ErrBadArgument, v)
		}
	}
	p.m, p.seen = filter.DSCPMatch{DSCP: d, Invert: invert}, name
	return nil
}

func (p *dscpMatchParser) done() (any, error) {
	if p.seen == "" {
		return nil, fmt.Errorf("%w: dscp match: Parameter --dscp is required", ErrSyntax)
	}
	return &p.m, nil
}
