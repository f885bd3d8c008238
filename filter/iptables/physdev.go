package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m physdev (libxt_physdev.c): --physdev-in and --physdev-out (names,
// '+' for a prefix), --physdev-is-in, --physdev-is-out and
// --physdev-is-bridged, each with '!'. iptables-save prints is-in, in,
// is-out, out, is-bridged.
func init() {
	type m = filter.PhysdevMatch
	flag := func(name string, set func(x *m, inv bool)) declOpt[m] {
		return declOpt[m]{name: name, flag: true, invert: true, set: func(x *m, c *optCall) error { set(x, c.invert); return nil }}
	}
	declare(&declared[m]{
		name: "physdev",
		opts: []declOpt[m]{
			{name: "physdev-in", invert: true, set: func(x *m, c *optCall) (err error) {
				x.In, err = parseIface(c.value, c.invert)
				x.MatchIn = true
				return err
			}},
			{name: "physdev-out", invert: true, set: func(x *m, c *optCall) (err error) {
				x.Out, err = parseIface(c.value, c.invert)
				x.MatchOut = true
				return err
			}},
			flag("physdev-is-in", func(x *m, inv bool) { x.IsIn, x.InvertIsIn = true, inv }),
			flag("physdev-is-out", func(x *m, inv bool) { x.IsOut, x.InvertIsOut = true, inv }),
			flag("physdev-is-bridged", func(x *m, inv bool) { x.IsBridged, x.InvertIsBridged = true, inv }),
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if seen == 0 {
				return fmt.Errorf("%w: PHYSDEV: no physdev option specified", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			if x.IsIn {
				w.opt(x.InvertIsIn, "physdev-is-in", "")
			}
			if x.MatchIn {
				w.opt(x.In.Invert, "physdev-in", ifaceString(x.In))
			}
			if x.IsOut {
				w.opt(x.InvertIsOut, "physdev-is-out", "")
			}
			if x.MatchOut {
				w.opt(x.Out.Invert, "physdev-out", ifaceString(x.Out))
			}
			if x.IsBridged {
				w.opt(x.InvertIsBridged, "physdev-is-bridged", "")
			}
		},
	})
}
