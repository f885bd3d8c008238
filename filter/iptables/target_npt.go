package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j SNPT and -j DNPT (libip6t_SNPT.c, libip6t_DNPT.c): --src-pfx and
// --dst-pfx, both required, ADDR[/LEN] (128 without a length); saved as
// ADDR/LEN.
func init() {
	for _, dest := range []bool{false, true} {
		name := "SNPT"
		if dest {
			name = "DNPT"
		}
		declareNPT(name, dest)
	}
}

func declareNPT(name string, dest bool) {
	type t = filter.NPTTarget
	pfx := func(field func(*t) *netip.Prefix) func(*t, *optCall) error {
		return func(x *t, c *optCall) error {
			p, addrOK, lenOK := parseIPv6Prefix(c.value)
			switch {
			case !addrOK:
				return fmt.Errorf("%w: %s: bad address in \"%s\"", ErrBadArgument, name, c.value)
			case !lenOK:
				return fmt.Errorf("%w: %s: bad prefix length in \"%s\"", ErrBadArgument, name, c.value)
			}
			*field(x) = p
			return nil
		}
	}
	save := func(w *saver, x *t) {
		for _, f := range []struct {
			name string
			p    netip.Prefix
		}{{"src-pfx", x.SrcPrefix}, {"dst-pfx", x.DstPrefix}} {
			w.opt(false, f.name, f.p.Addr().String()+"/"+strconv.Itoa(f.p.Bits()))
		}
	}
	opts := []declOpt[t]{
		{name: "src-pfx", must: true, set: pfx(func(x *t) *netip.Prefix { return &x.SrcPrefix })},
		{name: "dst-pfx", must: true, set: pfx(func(x *t) *netip.Prefix { return &x.DstPrefix })},
	}
	if dest {
		declare(&declared[filter.DNPTTarget]{name: name, target: true, family: packet.IPv6,
			init: func(x *filter.DNPTTarget) { x.Dest = true },
			opts: wrapOpts[filter.DNPTTarget](opts, func(x *filter.DNPTTarget) *t { return &x.NPTTarget }),
			save: func(w *saver, x *filter.DNPTTarget) { save(w, &x.NPTTarget) }})
		return
	}
	declare(&declared[filter.SNPTTarget]{name: name, target: true, family: packet.IPv6,
		opts: wrapOpts[filter.SNPTTarget](opts, func(x *filter.SNPTTarget) *t { return &x.NPTTarget }),
		save: func(w *saver, x *filter.SNPTTarget) { save(w, &x.NPTTarget) }})
}

// parseIPv6Prefix reads an IPv6 ADDR[/LEN] as XTTYPE_HOSTMASK takes a
// numeric one (LEN 128 when missing, a C integer up to 128); the address
// is not masked.
func parseIPv6Prefix(s string) (p netip.Prefix, addrOK, lenOK bool) {
	addr, bits, hasLen := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Prefix{}, false, false
	}
	n := uint64(128)
	if hasLen {
		var ok bool
		if n, ok = strtoui(bits, 0, 128); !ok {
			return netip.Prefix{}, true, false
		}
	}
	return netip.PrefixFrom(a, int(n)), true, true
}

// wrapOpts lifts options of an inner type to a type embedding it.
func wrapOpts[W, T any](opts []declOpt[T], inner func(*W) *T) []declOpt[W] {
	out := make([]declOpt[W], len(opts))
	for i, o := range opts {
		set := o.set
		out[i] = declOpt[W]{name: o.name, aliases: o.aliases, flag: o.flag, invert: o.invert, multi: o.multi, must: o.must, excl: o.excl, also: o.also,
			set: func(x *W, c *optCall) error { return set(inner(x), c) }}
	}
	return out
}
