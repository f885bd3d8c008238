package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m quota --quota BYTES (libxt_quota.c, XTTYPE_UINT64): iptables-save
// prints the quota as given.
func init() {
	type m = filter.QuotaMatch
	declare(&declared[m]{
		name: "quota",
		opts: []declOpt[m]{{name: "quota", invert: true, must: true, set: func(x *m, c *optCall) error {
			// A negative number wraps into range in strtoul, but
			// xtables refuses it for a 64-bit value.
			if strings.HasPrefix(c.value, "-") {
				return fmt.Errorf("%w: quota: bad value for option \"--quota\", or out of range (0-18446744073709551615).", ErrBadArgument) //lint:ignore ST1005 iptables' message
			}
			return setUint(func(x *m) *uint64 { return &x.Quota }, 0, 1<<64-1, func(x *m) *bool { return &x.Invert })(x, c)
		}}},
		save: func(w *saver, x *m) { w.opt(x.Invert, "quota", strconv.FormatUint(x.Quota, 10)) },
	})
}
