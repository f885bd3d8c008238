//lint:file-ignore ST1005 the messages are the extensions' own, word for word

package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -j AUDIT --type accept|drop|reject (libxt_AUDIT.c), -j TEE --gateway
// ADDR [--oif IFACE] (libxt_TEE.c) and -j IDLETIMER --timeout SECONDS
// --label LABEL [--alarm] (libxt_IDLETIMER.c).
func init() {
	type a = filter.AuditTarget
	auditTypes := []string{"accept", "drop", "reject"}
	declare(&declared[a]{
		name: "AUDIT", target: true,
		opts: []declOpt[a]{{name: "type", must: true, set: func(x *a, c *optCall) error {
			for i, n := range auditTypes {
				if n == c.value {
					x.Type = filter.AuditType(i)
					return nil
				}
			}
			return fmt.Errorf("%w: Bad action type value \"%s\"", ErrBadArgument, c.value)
		}}},
		save: func(w *saver, x *a) { w.opt(false, "type", auditTypes[x.Type]) },
	})

	type t = filter.TEETarget
	declare(&declared[t]{
		name: "TEE", target: true,
		opts: []declOpt[t]{
			{name: "gateway", must: true, set: func(x *t, c *optCall) error {
				a, err := parseHostArg(c.value, c.rc.family)
				x.Gateway = a
				return err
			}},
			{name: "oif", set: func(x *t, c *optCall) error {
				x.OIF = c.value[:min(len(c.value), maxIfaceLen)] // xtopt cuts it to the field
				return nil
			}},
		},
		save: func(w *saver, x *t) {
			w.opt(false, "gateway", x.Gateway.String())
			if x.OIF != "" {
				w.opt(false, "oif", x.OIF)
			}
		},
	})

	type it = filter.IdleTimerTarget
	declare(&declared[it]{
		name: "IDLETIMER", target: true,
		opts: []declOpt[it]{
			{name: "timeout", must: true, set: setUint(func(x *it) *uint32 { return &x.Timeout }, 0, 1<<32-1, nil)},
			{name: "label", must: true, set: func(x *it, c *optCall) error {
				x.Label = c.value[:min(len(c.value), 27)] // xtopt cuts it to the field
				return nil
			}},
			{name: "alarm", flag: true, set: func(x *it, _ *optCall) error { x.Alarm = true; return nil }},
		},
		save: func(w *saver, x *it) {
			w.opt(false, "timeout", strconv.FormatUint(uint64(x.Timeout), 10))
			w.opt(false, "label", x.Label)
			if x.Alarm {
				w.opt(false, "alarm", "")
			}
		},
	})
}
