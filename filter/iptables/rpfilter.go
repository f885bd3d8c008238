package iptables

import "github.com/nfgo/nfgo/filter"

// -m rpfilter [--loose] [--validmark] [--accept-local] [--invert]
// (libxt_rpfilter.c), saved in that order.
func init() {
	type m = filter.RPFilterMatch
	flag := func(name string, field func(*m) *bool) declOpt[m] {
		return declOpt[m]{name: name, flag: true, set: func(x *m, _ *optCall) error { *field(x) = true; return nil }}
	}
	declare(&declared[m]{
		name: "rpfilter",
		opts: []declOpt[m]{
			flag("loose", func(x *m) *bool { return &x.Loose }),
			flag("validmark", func(x *m) *bool { return &x.ValidMark }),
			flag("accept-local", func(x *m) *bool { return &x.AcceptLocal }),
			flag("invert", func(x *m) *bool { return &x.Invert }),
		},
		save: func(w *saver, x *m) {
			for _, f := range []struct {
				on   bool
				name string
			}{{x.Loose, "loose"}, {x.ValidMark, "validmark"}, {x.AcceptLocal, "accept-local"}, {x.Invert, "invert"}} {
				if f.on {
					w.opt(false, f.name, "")
				}
			}
		},
	})
}
