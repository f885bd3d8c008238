package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -j NFLOG (libxt_NFLOG.c): --nflog-group, --nflog-prefix, --nflog-size
// (or the obsolete --nflog-range, accepted and not saved) and
// --nflog-threshold. iptables-save prints the prefix, then the group
// and the threshold when not 0, and the size when given.
func init() {
	type t = filter.NFLogTarget
	declare(&declared[t]{
		name: "NFLOG", target: true,
		opts: []declOpt[t]{
			{name: "nflog-group", set: setUint(func(x *t) *uint16 { return &x.Group }, 0, 65535, nil)},
			{name: "nflog-prefix", set: func(x *t, c *optCall) error {
				if c.value == "" {
					return fmt.Errorf("%w: Argument must have a minimum length of 1 characters", ErrBadArgument)
				}
				x.Prefix, x.HasPrefix = c.value, true
				return nil
			}},
			{name: "nflog-range", excl: []string{"nflog-size"}, set: setUint(func(x *t) *uint32 { return &x.Range }, 0, 1<<32-1, nil)},
			{name: "nflog-size", excl: []string{"nflog-range"}, set: func(x *t, c *optCall) error {
				x.HasSize = true
				return setUint(func(x *t) *uint32 { return &x.Size }, 0, 1<<32-1, nil)(x, c)
			}},
			{name: "nflog-threshold", set: setUint(func(x *t) *uint16 { return &x.Threshold }, 0, 65535, nil)},
		},
		save: func(w *saver, x *t) {
			if x.HasPrefix {
				w.opt(false, "nflog-prefix", quote(x.Prefix))
			}
			if x.Group != 0 {
				w.opt(false, "nflog-group", strconv.Itoa(int(x.Group)))
			}
			if x.HasSize {
				w.opt(false, "nflog-size", strconv.FormatUint(uint64(x.Size), 10))
			}
			if x.Threshold != 0 {
				w.opt(false, "nflog-threshold", strconv.Itoa(int(x.Threshold)))
			}
		},
	})
}
