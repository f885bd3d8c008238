//lint:file-ignore ST1005 the messages are ip6tables' own, word for word

package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// The IPv6 extension-header matches of ip6tables (libip6t_frag.c,
// libip6t_hbh.c, libip6t_dst.c, libip6t_rt.c, libip6t_ah.c,
// libip6t_mh.c, libip6t_ipv6header.c, libip6t_eui64.c), as ip6tables
// 1.8.9 reads and saves them: a range covering everything is saved as
// nothing, inverted or not, and a reversed range is kept.
func init() {
	u32 := func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
	saveRange := func(w *saver, name string, lo, hi uint32, invert bool) {
		if lo == 0 && hi == 0xFFFFFFFF {
			return
		}
		v := u32(lo)
		if lo != hi {
			v += ":" + u32(hi)
		}
		w.opt(invert, name, v)
	}

	type fr = filter.FragMatch
	declare(&declared[fr]{
		name: "frag", family: packet.IPv6,
		init: func(x *fr) { x.IDMax = 0xFFFFFFFF },
		opts: []declOpt[fr]{
			{name: "fragid", invert: true, set: setUintRange(func(x *fr) *uint32 { return &x.IDMin }, func(x *fr) *uint32 { return &x.IDMax }, 0xFFFFFFFF, func(x *fr) *bool { return &x.InvertIDs })},
			{name: "fraglen", invert: true, set: func(x *fr, c *optCall) error {
				x.HasLen = true
				return setUint(func(x *fr) *uint32 { return &x.Len }, 0, 0xFFFFFFFF, func(x *fr) *bool { return &x.InvertLen })(x, c)
			}},
			{name: "fragres", flag: true, set: func(x *fr, _ *optCall) error { x.Res = true; return nil }},
			{name: "fragfirst", flag: true, set: func(x *fr, _ *optCall) error { x.First = true; return nil }},
			{name: "fragmore", flag: true, excl: []string{"fraglast"}, set: func(x *fr, _ *optCall) error { x.More = true; return nil }},
			{name: "fraglast", flag: true, excl: []string{"fragmore"}, set: func(x *fr, _ *optCall) error { x.Last = true; return nil }},
		},
		save: func(w *saver, x *fr) {
			saveRange(w, "fragid", x.IDMin, x.IDMax, x.InvertIDs)
			if x.HasLen {
				w.opt(x.InvertLen, "fraglen", u32(x.Len))
			}
			for _, f := range []struct {
				on   bool
				name string
			}{{x.Res, "fragres"}, {x.First, "fragfirst"}, {x.More, "fragmore"}, {x.Last, "fraglast"}} {
				if f.on {
					w.opt(false, f.name, "")
				}
			}
		},
	})

	declareOpts[filter.HBHMatch]("hbh")
	declareOpts[filter.DstMatch]("dst")

	type rt = filter.RTMatch
	needType0 := func(x *rt, opt string) error {
		if !x.HasType || x.Type != 0 || x.InvertType {
			return fmt.Errorf("%w: `--rt-type 0' required before `--%s'", ErrSyntax, opt)
		}
		return nil
	}
	declare(&declared[rt]{
		name: "rt", family: packet.IPv6,
		init: func(x *rt) { x.SegsMax = 0xFFFFFFFF },
		opts: []declOpt[rt]{
			{name: "rt-type", invert: true, set: func(x *rt, c *optCall) error {
				x.HasType = true
				return setUint(func(x *rt) *uint32 { return &x.Type }, 0, 0xFFFFFFFF, func(x *rt) *bool { return &x.InvertType })(x, c)
			}},
			{name: "rt-segsleft", invert: true, set: func(x *rt, c *optCall) error {
				x.HasSegs = true
				return setUintRange(func(x *rt) *uint32 { return &x.SegsMin }, func(x *rt) *uint32 { return &x.SegsMax }, 0xFFFFFFFF, func(x *rt) *bool { return &x.InvertSegs })(x, c)
			}},
			{name: "rt-len", invert: true, set: func(x *rt, c *optCall) error {
				x.HasLen = true
				return setUint(func(x *rt) *uint32 { return &x.Len }, 0, 0xFFFFFFFF, func(x *rt) *bool { return &x.InvertLen })(x, c)
			}},
			{name: "rt-0-res", flag: true, set: func(x *rt, _ *optCall) error {
				x.Res = true
				return needType0(x, "rt-0-res")
			}},
			{name: "rt-0-addrs", set: func(x *rt, c *optCall) error {
				if err := needType0(x, "rt-0-addrs"); err != nil {
					return err
				}
				parts := strings.Split(c.value, ",")
				if len(parts) > 16 {
					return fmt.Errorf("%w: too many addresses specified", ErrBadArgument)
				}
				for _, s := range parts {
					a, err := netip.ParseAddr(s)
					if err != nil || !a.Is6() || a.Zone() != "" {
						return fmt.Errorf("%w: bad address: %s", ErrBadArgument, s)
					}
					x.Addrs = append(x.Addrs, a)
				}
				x.HasAddrs = true
				return nil
			}},
			{name: "rt-0-not-strict", flag: true, set: func(x *rt, _ *optCall) error {
				if !x.HasAddrs {
					return fmt.Errorf("%w: `--rt-0-addr ...' required before `--rt-0-not-strict'", ErrSyntax)
				}
				x.AddrsNoStrict = true
				return nil
			}},
		},
		save: func(w *saver, x *rt) {
			if x.HasType {
				w.opt(x.InvertType, "rt-type", u32(x.Type))
			}
			saveRange(w, "rt-segsleft", x.SegsMin, x.SegsMax, x.InvertSegs)
			if x.HasLen {
				w.opt(x.InvertLen, "rt-len", u32(x.Len))
			}
			if x.Res {
				w.opt(false, "rt-0-res", "")
			}
			if x.HasAddrs {
				var b strings.Builder
				for i, a := range x.Addrs {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(a.String())
				}
				w.opt(false, "rt-0-addrs", b.String())
			}
			if x.AddrsNoStrict {
				w.opt(false, "rt-0-not-strict", "")
			}
		},
	})

	type ah = filter.AH6Match
	declare(&declared[ah]{
		name: "ah", family: packet.IPv6,
		init: func(x *ah) { x.SPIMax = 0xFFFFFFFF },
		opts: []declOpt[ah]{
			{name: "ahspi", invert: true, set: setUintRange(func(x *ah) *uint32 { return &x.SPIMin }, func(x *ah) *uint32 { return &x.SPIMax }, 0xFFFFFFFF, func(x *ah) *bool { return &x.InvertSPI })},
			{name: "ahlen", invert: true, set: setUint(func(x *ah) *uint32 { return &x.Len }, 0, 0xFFFFFFFF, func(x *ah) *bool { return &x.InvertLen })},
			{name: "ahres", flag: true, set: func(x *ah, _ *optCall) error { x.Res = true; return nil }},
		},
		save: func(w *saver, x *ah) {
			saveRange(w, "ahspi", x.SPIMin, x.SPIMax, x.InvertSPI)
			if x.Len != 0 || x.InvertLen {
				w.opt(x.InvertLen, "ahlen", u32(x.Len))
			}
			if x.Res {
				w.opt(false, "ahres", "")
			}
		},
	})

	type mh = filter.MHMatch
	declare(&declared[mh]{
		name: "mh", family: packet.IPv6,
		init: func(x *mh) { x.TypeMax = 0xff },
		opts: []declOpt[mh]{{name: "mh-type", invert: true, set: func(x *mh, c *optCall) error {
			lo, hi, err := parseMHTypes(c.value)
			x.TypeMin, x.TypeMax, x.Invert = lo, hi, c.invert
			return err
		}}},
		save: func(w *saver, x *mh) {
			if x.TypeMin == 0 && x.TypeMax == 0xff {
				return
			}
			v := strconv.Itoa(int(x.TypeMin))
			if x.TypeMin != x.TypeMax {
				v += ":" + strconv.Itoa(int(x.TypeMax))
			}
			w.opt(x.Invert, "mh-type", v)
		},
	})

	type ih = filter.IPv6HeaderMatch
	declare(&declared[ih]{
		name: "ipv6header", family: packet.IPv6,
		opts: []declOpt[ih]{
			{name: "header", invert: true, must: true, set: func(x *ih, c *optCall) error {
				h, err := parseIPv6Headers(c.value)
				x.Headers, x.Invert = h, c.invert
				return err
			}},
			{name: "soft", flag: true, set: func(x *ih, _ *optCall) error { x.Soft = true; return nil }},
		},
		save: func(w *saver, x *ih) {
			var names []string
			for _, f := range ipv6HeaderFlags {
				if x.Headers&f.bit != 0 {
					names = append(names, f.save)
				}
			}
			v := strings.Join(names, ",")
			if v == "" {
				v = "NONE"
			}
			w.opt(x.Invert, "header", v)
			if x.Soft {
				w.opt(false, "soft", "")
			}
		},
	})

	declare(&declared[filter.EUI64Match]{
		name: "eui64", family: packet.IPv6,
		save: func(*saver, *filter.EUI64Match) {},
	})
}

// declareOpts declares -m hbh or -m dst: [!] --NAME-len and --NAME-opts.
func declareOpts[T any, PT interface {
	*T
	Options() *filter.OptsMatch
}](name string) {
	opts := func(x *T) *filter.OptsMatch { return PT(x).Options() }
	declare(&declared[T]{
		name: name, family: packet.IPv6,
		opts: []declOpt[T]{
			{name: name + "-len", invert: true, set: func(x *T, c *optCall) error {
				o := opts(x)
				o.HasLen = true
				return setUint(func(*T) *uint32 { return &o.Len }, 0, 0xFFFFFFFF, func(*T) *bool { return &o.InvertLen })(x, c)
			}},
			{name: name + "-opts", set: func(x *T, c *optCall) error {
				o := opts(x)
				list, err := parseIPv6Opts(name, c.value)
				o.Opts, o.HasOpts = list, true
				return err
			}},
		},
		save: func(w *saver, x *T) {
			o := opts(x)
			if o.HasLen {
				w.opt(o.InvertLen, name+"-len", strconv.FormatUint(uint64(o.Len), 10))
			}
			if len(o.Opts) > 0 {
				var b strings.Builder
				for i, op := range o.Opts {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(strconv.Itoa(int(op >> 8)))
					if op&0xff != 0xff {
						b.WriteString(":" + strconv.Itoa(int(op&0xff)))
					}
				}
				w.opt(false, name+"-opts", b.String())
			}
		},
	})
}

// parseIPv6Opts reads --hbh-opts and --dst-opts as libip6t_hbh's
// parse_options does: TYPE[:LEN] items separated by commas, at most 16,
// each number as strtoul reads it (base 0) and cut to 8 bits.
func parseIPv6Opts(ext, s string) ([]uint16, error) {
	num := func(v, what string) (uint16, error) {
		n, rest, ok := cStrtoul(v, 0)
		if !ok {
			return 0, fmt.Errorf("%w: %s: no valid digits in %s `%s'", ErrBadArgument, ext, what, v)
		}
		if rest != "" {
			return 0, fmt.Errorf("%w: %s: error parsing %s `%s'", ErrBadArgument, ext, what, v)
		}
		return uint16(n & 0xff), nil
	}
	var opts []uint16
	items := strings.Split(s, ",")
	for i, item := range items {
		if i == 16 {
			return nil, fmt.Errorf("%w: too many addresses specified", ErrBadArgument)
		}
		typ, length, hasLen := strings.Cut(item, ":")
		if hasLen && i == 15 {
			return nil, fmt.Errorf("%w: too many ports specified", ErrBadArgument)
		}
		t, err := num(typ, "opt")
		if err != nil {
			return nil, err
		}
		op := t<<8 | 0xff
		if hasLen {
			if t == 0 {
				pad := "PAD0 has not got length"
				if ext == "dst" {
					pad = "PAD0 hasn't got length"
				}
				return nil, fmt.Errorf("%w: %s", ErrBadArgument, pad)
			}
			l, err := num(length, "length")
			if err != nil {
				return nil, err
			}
			op = t<<8 | l
		}
		opts = append(opts, op)
	}
	return opts, nil
}

// mhTypes are libip6t_mh's Mobility Header type names, in its order.
var mhTypes = []struct {
	name string
	typ  uint8
}{
	{"binding-refresh-request", 0}, {"brr", 0}, {"home-test-init", 1}, {"hoti", 1},
	{"careof-test-init", 2}, {"coti", 2}, {"home-test", 3}, {"hot", 3},
	{"careof-test", 4}, {"cot", 4}, {"binding-update", 5}, {"bu", 5},
	{"binding-acknowledgement", 6}, {"ba", 6}, {"binding-error", 7}, {"be", 7},
}

// mhType is name_to_type: a case-insensitive prefix of a name (an exact
// one preferred), or a number up to 255.
func mhType(s string) (uint8, error) {
	match := -1
	for i, t := range mhTypes {
		if len(s) <= len(t.name) && strings.EqualFold(t.name[:len(s)], s) && (match < 0 || len(t.name) == len(s)) {
			match = i
		}
	}
	if match >= 0 {
		return mhTypes[match].typ, nil
	}
	if v, ok := strtoui(s, 0, 255); ok {
		return uint8(v), nil
	}
	return 0, fmt.Errorf("%w: Invalid MH type `%s'", ErrBadArgument, s)
}

// parseMHTypes is parse_mh_types: TYPE or [TYPE]:[TYPE].
func parseMHTypes(s string) (lo, hi uint8, err error) {
	a, b, two := strings.Cut(s, ":")
	if !two {
		lo, err = mhType(s)
		return lo, lo, err
	}
	hi = 0xff
	if a != "" {
		if lo, err = mhType(a); err != nil {
			return
		}
	}
	if b != "" {
		if hi, err = mhType(b); err != nil {
			return
		}
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: Invalid MH type range (min > max)", ErrBadArgument)
	}
	return lo, hi, nil
}

// ipv6HeaderFlags are libip6t_ipv6header's flags in save order, with
// the name iptables-save prints for each (the /etc/protocols name where
// Debian's netbase has one).
var ipv6HeaderFlags = []struct {
	proto uint8
	bit   uint8
	save  string
}{
	{0, filter.IPv6HeaderHop, "hop-by-hop"},
	{60, filter.IPv6HeaderDst, "ipv6-opts"},
	{43, filter.IPv6HeaderRouting, "ipv6-route"},
	{44, filter.IPv6HeaderFragment, "ipv6-frag"},
	{51, filter.IPv6HeaderAuth, "ah"},
	{50, filter.IPv6HeaderESP, "esp"},
	{59, filter.IPv6HeaderNone, "ipv6-nonxt"},
	{255, filter.IPv6HeaderProto, "protocol"},
}

// ipv6HeaderNames are libip6t_ipv6header's own names.
var ipv6HeaderNames = map[string]uint8{
	"hop-by-hop": 0, "protocol": 255, "hop": 0, "dst": 60, "route": 43, "frag": 44,
	"auth": 51, "esp": 50, "none": 59, "prot": 255,
	"0": 0, "60": 60, "43": 43, "44": 44, "51": 51, "50": 50, "59": 59, "255": 255,
}

// parseIPv6Headers is parse_header: comma-separated names, each looked
// up in the protocol database first (nfgo's copy of /etc/protocols),
// then in ipv6header's own names.
func parseIPv6Headers(s string) (uint8, error) {
	var mask uint8
	for _, tok := range strings.Split(s, ",") {
		if tok == "" {
			continue
		}
		proto, ok := lookupProtoName(tok)
		if !ok {
			if proto, ok = ipv6HeaderNames[tok]; !ok {
				return 0, fmt.Errorf("%w: unknown header `%s' specified", ErrBadArgument, tok)
			}
		}
		bit := uint8(0)
		for _, f := range ipv6HeaderFlags {
			if f.proto == proto {
				bit = f.bit
			}
		}
		if bit == 0 {
			return 0, fmt.Errorf("%w: unknown header `%d' specified", ErrBadArgument, proto)
		}
		mask |= bit
	}
	if mask == 0 {
		return 0, fmt.Errorf("%w: ip6t_ipv6header: cannot parse header names", ErrBadArgument)
	}
	return mask, nil
}

// protoAliases are the netbase /etc/protocols names and aliases beyond
// protoNames' that getprotobyname finds for the IPv6 headers.
var protoAliases = map[string]uint8{
	"ip": 0, "IP": 0, "hopopt": 0, "HOPOPT": 0,
	"IPv6-Route": 43, "IPv6-Frag": 44, "IPSEC-ESP": 50, "IPSEC-AH": 51, "IPv6-NoNxt": 59, "IPv6-Opts": 60,
}

// lookupProtoName is getprotobyname over nfgo's copy of netbase's
// /etc/protocols: a name or an alias, case-sensitive.
func lookupProtoName(s string) (uint8, bool) {
	if n, ok := protoAliases[s]; ok {
		return n, true
	}
	for n, name := range protoNames {
		if name == s || strings.ToUpper(name) == s {
			return n, true
		}
	}
	return 0, false
}
