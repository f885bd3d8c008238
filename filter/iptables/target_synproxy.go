package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/synproxy"
)

// -j SYNPROXY [--sack-perm] [--timestamp] [--wscale N] [--mss N] [--ecn]
// (libxt_SYNPROXY.c). --wscale and --mss read any 32-bit number (in
// decimal, hex or octal) and keep its low 8 or 16 bits, unchecked, as
// iptables does: --wscale 300 is saved as 44. iptables-save prints the
// options in one order, whatever the input's.
func init() {
	type t = filter.SYNPROXYTarget
	flag := func(bit uint8) func(*t, *optCall) error {
		return func(x *t, _ *optCall) error { x.Options |= bit; return nil }
	}
	number := func(c *optCall) (uint64, error) {
		v, ok := strtoui(c.value, 0, 1<<32-1)
		if !ok {
			return 0, fmt.Errorf("%w: SYNPROXY: bad value for option \"--%s\", or out of range (0-4294967295).", ErrBadArgument, c.name) //lint:ignore ST1005 iptables' message
		}
		return v, nil
	}
	declare(&declared[t]{
		name: "SYNPROXY", target: true,
		opts: []declOpt[t]{
			{name: "sack-perm", flag: true, set: flag(synproxy.OptSACKPerm)},
			{name: "timestamp", flag: true, set: flag(synproxy.OptTimestamp)},
			{name: "wscale", set: func(x *t, c *optCall) error {
				v, err := number(c)
				x.Options |= synproxy.OptWScale
				x.WScale = uint8(v)
				return err
			}},
			{name: "mss", set: func(x *t, c *optCall) error {
				v, err := number(c)
				x.Options |= synproxy.OptMSS
				x.MSS = uint16(v)
				return err
			}},
			{name: "ecn", flag: true, set: flag(synproxy.OptECN)},
		},
		save: func(w *saver, x *t) {
			if x.Options&synproxy.OptSACKPerm != 0 {
				w.opt(false, "sack-perm", "")
			}
			if x.Options&synproxy.OptTimestamp != 0 {
				w.opt(false, "timestamp", "")
			}
			if x.Options&synproxy.OptWScale != 0 {
				w.opt(false, "wscale", strconv.Itoa(int(x.WScale)))
			}
			if x.Options&synproxy.OptMSS != 0 {
				w.opt(false, "mss", strconv.Itoa(int(x.MSS)))
			}
			if x.Options&synproxy.OptECN != 0 {
				w.opt(false, "ecn", "")
			}
		},
	})
}
