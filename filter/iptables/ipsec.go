package iptables

import (
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m esp --espspi SPI[:SPI] (libxt_esp.c) and iptables' -m ah --ahspi
// (libipt_ah.c): XTTYPE_UINT32RC, a reversed range kept (it never
// matches); the whole range 0:4294967295 is saved as nothing.
func init() {
	type e = filter.ESPMatch
	declare(&declared[e]{
		name: "esp",
		init: func(x *e) { x.Max = 0xFFFFFFFF },
		opts: []declOpt[e]{{name: "espspi", invert: true,
			set: setUintRange(func(x *e) *uint32 { return &x.Min }, func(x *e) *uint32 { return &x.Max }, 0xFFFFFFFF, func(x *e) *bool { return &x.Invert })}},
		save: func(w *saver, x *e) { saveSPI(w, "espspi", x.Min, x.Max, x.Invert) },
	})
	type a = filter.AHMatch
	declare(&declared[a]{
		name:   "ah",
		family: packet.IPv4,
		init:   func(x *a) { x.Max = 0xFFFFFFFF },
		opts: []declOpt[a]{{name: "ahspi", invert: true,
			set: setUintRange(func(x *a) *uint32 { return &x.Min }, func(x *a) *uint32 { return &x.Max }, 0xFFFFFFFF, func(x *a) *bool { return &x.Invert })}},
		save: func(w *saver, x *a) { saveSPI(w, "ahspi", x.Min, x.Max, x.Invert) },
	})
}

func saveSPI(w *saver, name string, lo, hi uint32, invert bool) {
	if lo == 0 && hi == 0xFFFFFFFF && !invert {
		return
	}
	v := strconv.FormatUint(uint64(lo), 10)
	if lo != hi {
		v += ":" + strconv.FormatUint(uint64(hi), 10)
	}
	w.opt(invert, name, v)
}
