package iptables

import (
	"fmt"

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
