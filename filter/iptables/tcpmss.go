package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m tcpmss --mss VALUE[:VALUE] (libxt_tcpmss.c): XTTYPE_UINT16RC, a
// reversed range refused.
func init() {
	type m = filter.TCPMSSMatch
	declare(&declared[m]{
		name: "tcpmss",
		opts: []declOpt[m]{{name: "mss", invert: true, must: true,
			set: setUintRange(func(x *m) *uint16 { return &x.Min }, func(x *m) *uint16 { return &x.Max }, 0xFFFF, func(x *m) *bool { return &x.Invert })}},
		check: func(x *m, _ optSet, _ *ruleContext) error {
			if x.Min > x.Max {
				return fmt.Errorf("%w: tcpmss: invalid range given", ErrBadArgument)
			}
			return nil
		},
		save: func(w *saver, x *m) { w.opt(x.Invert, "mss", formatPortRange(x.Min, x.Max)) },
	})
}
