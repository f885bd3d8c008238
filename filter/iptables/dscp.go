package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m dscp --dscp N | --dscp-class CLASS (libxt_dscp.c). The class names
// are the RFC 2474/2597/3246 ones; iptables-save prints "--dscp 0x%02x".
func init() {
	type m = filter.DSCPMatch
	inv := func(x *m) *bool { return &x.Invert }
	declare(&declared[m]{
		name: "dscp",
		opts: []declOpt[m]{
			{name: "dscp", invert: true, excl: []string{"dscp-class"}, set: setUint(func(x *m) *uint8 { return &x.DSCP }, 0, 63, inv)},
			{name: "dscp-class", invert: true, set: func(x *m, c *optCall) error {
				d, ok := parseDSCPClass(c.value)
				if !ok {
					return fmt.Errorf("%w: Invalid DSCP value `%s'", ErrBadArgument, c.value)
				}
				x.DSCP, x.Invert = d, c.invert
				return nil
			}},
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if seen == 0 {
				return fmt.Errorf("%w: dscp match: Parameter --dscp is required", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *m) { w.opt(x.Invert, "dscp", fmt.Sprintf("0x%02x", x.DSCP)) },
	})
}
