package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m nfacct --nfacct-name NAME (libxt_nfacct.c). iptables-save prints two
// spaces before the name, as libxt_nfacct does.
func init() {
	type m = filter.NFAcctMatch
	declare(&declared[m]{
		name: "nfacct",
		opts: []declOpt[m]{{name: "nfacct-name", must: true, set: func(x *m, c *optCall) error {
			if c.value == "" {
				return fmt.Errorf("%w: Argument must have a minimum length of 1 characters", ErrBadArgument)
			}
			// xtopt cuts a longer name to the field's 31 bytes.
			x.ObjectName = c.value[:min(len(c.value), filter.NFAcctNameLen-1)]
			return nil
		}}},
		save: func(w *saver, x *m) { w.opt(false, "nfacct-name", " "+x.ObjectName) },
	})
}
