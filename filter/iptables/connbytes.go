package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m connbytes [!] --connbytes FROM[:TO] --connbytes-dir
// original|reply|both --connbytes-mode packets|bytes|avgpkt
// (libxt_connbytes.c). A missing TO is unbounded, a reversed range
// refused; iptables-save prints the mode before the direction.
func init() {
	type m = filter.ConnbytesMatch
	modes := []string{"packets", "bytes", "avgpkt"}
	dirs := []string{"original", "reply", "both"}
	declare(&declared[m]{
		name: "connbytes",
		opts: []declOpt[m]{
			{name: "connbytes", invert: true, must: true, set: func(x *m, c *optCall) error {
				lo, hi, err := optUintRange(c.ext, c.name, c.value, 1<<64-1)
				if err != nil {
					return err
				}
				if !strings.Contains(c.value, ":") {
					// One number is a lower bound.
					hi = 1<<64 - 1
				}
				if lo > hi {
					return fmt.Errorf("%w: %d should be less than %d", ErrBadArgument, lo, hi)
				}
				x.From, x.To, x.Invert = lo, hi, c.invert
				return nil
			}},
			{name: "connbytes-dir", must: true, set: func(x *m, c *optCall) error {
				i, err := oneOf(c, dirs)
				x.Dir = filter.ConnbytesDir(i)
				return err
			}},
			{name: "connbytes-mode", must: true, set: func(x *m, c *optCall) error {
				i, err := oneOf(c, modes)
				x.Mode = filter.ConnbytesMode(i)
				return err
			}},
		},
		save: func(w *saver, x *m) {
			v := strconv.FormatUint(x.From, 10)
			if x.To != 1<<64-1 {
				v += ":" + strconv.FormatUint(x.To, 10)
			}
			w.opt(x.Invert, "connbytes", v)
			w.opt(false, "connbytes-mode", modes[x.Mode])
			w.opt(false, "connbytes-dir", dirs[x.Dir])
		},
	})
}

// oneOf returns the index of the option's value among names, or
// libxt_connbytes' error for a value that is none of them.
func oneOf(c *optCall, names []string) (int, error) {
	for i, n := range names {
		if c.value == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: Unknown --%s `%s'", ErrBadArgument, c.name, c.value)
}
