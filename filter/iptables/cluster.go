package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m cluster --cluster-total-nodes N (--cluster-local-node N |
// --cluster-local-nodemask MASK) --cluster-hash-seed SEED
// (libxt_cluster.c). A node is saved as its mask; the "!" goes with the
// node or the mask.
func init() {
	type m = filter.ClusterMatch
	declare(&declared[m]{
		name: "cluster",
		opts: []declOpt[m]{
			{name: "cluster-total-nodes", must: true, set: setUint(func(x *m) *uint32 { return &x.TotalNodes }, 1, 32, nil)},
			{name: "cluster-local-node", invert: true, excl: []string{"cluster-local-nodemask"}, set: func(x *m, c *optCall) error {
				n, err := optUint(c.ext, c.name, c.value, 1, 32)
				if err != nil {
					return err
				}
				x.NodeMask, x.Invert = 1<<(n-1), c.invert
				return nil
			}},
			{name: "cluster-local-nodemask", invert: true, set: setUint(func(x *m) *uint32 { return &x.NodeMask }, 1, 1<<32-1, func(x *m) *bool { return &x.Invert })},
			{name: "cluster-hash-seed", must: true, set: setUint(func(x *m) *uint32 { return &x.Seed }, 0, 1<<32-1, nil)},
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if !seen.has(1) && !seen.has(2) {
				return fmt.Errorf("%w: cluster match: `--cluster-local-node' or `--cluster-local-nodemask' is missing", ErrSyntax)
			}
			if seen.has(1) && x.NodeMask > 1<<(x.TotalNodes-1) {
				return fmt.Errorf("%w: cluster match: `--cluster-local-node' must be <= `--cluster-total-nodes'", ErrBadArgument)
			}
			if seen.has(2) && x.TotalNodes < 32 && x.NodeMask >= 1<<x.TotalNodes {
				return fmt.Errorf("%w: cluster match: `--cluster-local-nodemask' too big for `--cluster-total-nodes'", ErrBadArgument)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			w.opt(x.Invert, "cluster-local-nodemask", fmt.Sprintf("0x%08x", x.NodeMask))
			w.opt(false, "cluster-total-nodes", fmt.Sprint(x.TotalNodes))
			w.opt(false, "cluster-hash-seed", fmt.Sprintf("0x%08x", x.Seed))
		},
	})
}
