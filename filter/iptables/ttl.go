package iptables

import (
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m ttl --ttl-eq/--ttl-lt/--ttl-gt (libipt_ttl.c, IPv4) and -m hl
// --hl-eq/--hl-lt/--hl-gt (libip6t_hl.c, IPv6). Only --ttl-eq and
// --hl-eq take '!' (which makes the "ne" mode), and exactly one option is
// allowed.
func init() {
	declareTTL[filter.TTLMatch]("ttl", packet.IPv4, func(x *filter.TTLMatch) (*filter.TTLCompare, *uint8) { return &x.Mode, &x.Value })
	declareTTL[filter.HLMatch]("hl", packet.IPv6, func(x *filter.HLMatch) (*filter.TTLCompare, *uint8) { return &x.Mode, &x.Value })
}

func declareTTL[T any](ext string, f packet.Family, fields func(*T) (*filter.TTLCompare, *uint8)) {
	modes := [...]string{filter.TTLCompareEq: "eq", filter.TTLCompareNe: "eq", filter.TTLCompareLt: "lt", filter.TTLCompareGt: "gt"}
	opt := func(suffix string, mode filter.TTLCompare, others ...string) declOpt[T] {
		return declOpt[T]{name: ext + "-" + suffix, invert: mode == filter.TTLCompareEq, excl: others,
			set: func(x *T, c *optCall) error {
				v, err := optUint(c.ext, c.name, c.value, 0, 255)
				if err != nil {
					return err
				}
				m, val := fields(x)
				*m, *val = mode, uint8(v)
				if c.invert {
					*m = filter.TTLCompareNe
				}
				return nil
			}}
	}
	declare(&declared[T]{
		name: ext, family: f, needOne: true,
		opts: []declOpt[T]{
			opt("eq", filter.TTLCompareEq, ext+"-lt", ext+"-gt"),
			opt("lt", filter.TTLCompareLt, ext+"-gt"),
			opt("gt", filter.TTLCompareGt),
		},
		save: func(w *saver, x *T) {
			m, v := fields(x)
			w.opt(*m == filter.TTLCompareNe, ext+"-"+modes[*m], strconv.Itoa(int(*v)))
		},
	})
}
