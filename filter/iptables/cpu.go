package iptables

import (
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -m cpu [!] --cpu N (libxt_cpu.c, XTTYPE_UINT32).
func init() {
	type m = filter.CPUMatch
	declare(&declared[m]{
		name: "cpu",
		opts: []declOpt[m]{{name: "cpu", invert: true, must: true,
			set: setUint(func(x *m) *uint32 { return &x.CPU }, 0, 1<<32-1, func(x *m) *bool { return &x.Invert })}},
		save: func(w *saver, x *m) { w.opt(x.Invert, "cpu", strconv.FormatUint(uint64(x.CPU), 10)) },
	})
}
