package iptables

import "github.com/nfgo/nfgo/filter"

// -j CHECKSUM --checksum-fill (libxt_CHECKSUM.c), the mangle table's.
func init() {
	type t = filter.ChecksumTarget
	declare(&declared[t]{
		name: "CHECKSUM", target: true,
		opts: []declOpt[t]{{name: "checksum-fill", flag: true, must: true, set: func(*t, *optCall) error { return nil }}},
		save: func(w *saver, _ *t) { w.opt(false, "checksum-fill", "") },
	})
}
