//lint:file-ignore ST1005 the messages are libxt_HMARK's and xtopt's own, word for word

package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j HMARK (libxt_HMARK.c): --hmark-tuple LIST, --hmark-src-prefix,
// --hmark-dst-prefix, --hmark-sport-mask, --hmark-dport-mask,
// --hmark-spi-mask, --hmark-sport, --hmark-dport, --hmark-spi,
// --hmark-proto-mask, --hmark-rnd, --hmark-mod and --hmark-offset.
// --hmark-mod and --hmark-rnd are mandatory, and so is something to hash.
// iptables sets no defaults: an option not given leaves its part of the
// hash out. --hmark-tuple src,dst,sport,dport,proto,spi sets the
// corresponding masks to all ones, so iptables-save prints them as the
// options (--hmark-src-prefix 32, --hmark-sport-mask 0xffff, …), and
// only ct as --hmark-tuple ct, last.
func init() {
	type h = filter.HMarkTarget
	// once refuses an option whose flag --hmark-tuple already set:
	// hmark_parse marks those options as given, so xtopt refuses them
	// afterwards as given twice.
	once := func(x *h, c *optCall, f filter.HMarkFlags) error {
		if x.Flags&f != 0 {
			return onceErr(c.ext, c.name)
		}
		x.Flags |= f
		return nil
	}
	prefix := func(f filter.HMarkFlags, field func(*h) *uint8) func(*h, *optCall) error {
		return func(x *h, c *optCall) error {
			if err := once(x, c, f); err != nil {
				return err
			}
			n, err := hmarkPlen(c.ext, c.name, c.value, c.rc.family)
			*field(x) = n
			return err
		}
	}
	// word stores a 16-bit half (shift 16: the source port's, 0: the
	// destination port's) or, with bits 32, the whole word.
	word := func(f filter.HMarkFlags, field func(*h) *uint32, shift, bits uint) func(*h, *optCall) error {
		return func(x *h, c *optCall) error {
			if err := once(x, c, f); err != nil {
				return err
			}
			v, err := optUint(c.ext, c.name, c.value, 0, 1<<bits-1)
			if err != nil {
				return err
			}
			p := field(x)
			if bits == 32 {
				*p = uint32(v)
			} else {
				*p = *p&^(0xffff<<shift) | uint32(v)<<shift
			}
			return nil
		}
	}
	u32 := func(f filter.HMarkFlags, field func(*h) *uint32, lo uint64) func(*h, *optCall) error {
		return func(x *h, c *optCall) error {
			v, err := optUint(c.ext, c.name, c.value, lo, 1<<32-1)
			*field(x) = uint32(v)
			x.Flags |= f
			return err
		}
	}
	mask := func(x *h) *uint32 { return &x.PortMask }
	set := func(x *h) *uint32 { return &x.PortSet }
	declare(&declared[h]{
		name: "HMARK", target: true,
		opts: []declOpt[h]{
			{name: "hmark-tuple", set: func(x *h, c *optCall) error { return hmarkTuple(x, c.value, c.rc.family) }},
			{name: "hmark-src-prefix", set: prefix(filter.HMarkSrcMask, func(x *h) *uint8 { return &x.SrcPrefix })},
			{name: "hmark-dst-prefix", set: prefix(filter.HMarkDstMask, func(x *h) *uint8 { return &x.DstPrefix })},
			{name: "hmark-sport-mask", set: word(filter.HMarkSportMask, mask, 16, 16)},
			{name: "hmark-dport-mask", set: word(filter.HMarkDportMask, mask, 0, 16)},
			{name: "hmark-spi-mask", set: word(filter.HMarkSPIMask, mask, 0, 32)},
			{name: "hmark-sport", set: word(filter.HMarkSport, set, 16, 16)},
			{name: "hmark-dport", set: word(filter.HMarkDport, set, 0, 16)},
			{name: "hmark-spi", set: word(filter.HMarkSPI, set, 0, 32)},
			{name: "hmark-proto-mask", set: func(x *h, c *optCall) error {
				if err := once(x, c, filter.HMarkProtoMask); err != nil {
					return err
				}
				v, err := optUint(c.ext, c.name, c.value, 0, 0xffff)
				x.ProtoMask = uint16(v)
				return err
			}},
			{name: "hmark-rnd", set: u32(filter.HMarkRnd, func(x *h) *uint32 { return &x.Rnd }, 0)},
			{name: "hmark-mod", set: u32(filter.HMarkModulus, func(x *h) *uint32 { return &x.Mod }, 1)},
			{name: "hmark-offset", set: u32(filter.HMarkOffset, func(x *h) *uint32 { return &x.Offset }, 0)},
		},
		// HMARK_check, whose messages come before xtopt's own checks.
		check: func(x *h, _ optSet, _ *ruleContext) error {
			const pkt = filter.HMarkSrcMask | filter.HMarkDstMask | filter.HMarkSPIMask | filter.HMarkSportMask |
				filter.HMarkDportMask | filter.HMarkProtoMask | filter.HMarkSport | filter.HMarkDport | filter.HMarkSPI
			switch {
			case x.Flags&filter.HMarkModulus == 0:
				return fmt.Errorf("%w: --hmark-mod is mandatory", ErrSyntax)
			case x.Flags&filter.HMarkRnd == 0:
				return fmt.Errorf("%w: --hmark-rnd is mandatory", ErrSyntax)
			case x.Flags&filter.HMarkSPIMask != 0 && x.Flags&(filter.HMarkSportMask|filter.HMarkDportMask) != 0:
				return fmt.Errorf("%w: you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time", ErrSyntax)
			case x.Flags&(pkt|filter.HMarkCT) == 0:
				return fmt.Errorf("%w: you have to specify --hmark-tuple at least", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *h) {
			f := x.Flags
			hex := func(flag filter.HMarkFlags, name, format string, v uint32) {
				if f&flag != 0 {
					w.opt(false, name, fmt.Sprintf(format, v))
				}
			}
			dec := func(flag filter.HMarkFlags, name string, v uint32) {
				if f&flag != 0 {
					w.opt(false, name, strconv.FormatUint(uint64(v), 10))
				}
			}
			dec(filter.HMarkSrcMask, "hmark-src-prefix", uint32(x.SrcPrefix))
			dec(filter.HMarkDstMask, "hmark-dst-prefix", uint32(x.DstPrefix))
			hex(filter.HMarkSportMask, "hmark-sport-mask", "0x%04x", x.PortMask>>16)
			hex(filter.HMarkDportMask, "hmark-dport-mask", "0x%04x", x.PortMask&0xffff)
			hex(filter.HMarkSPIMask, "hmark-spi-mask", "0x%08x", x.PortMask)
			hex(filter.HMarkSport, "hmark-sport", "0x%04x", x.PortSet>>16)
			hex(filter.HMarkDport, "hmark-dport", "0x%04x", x.PortSet&0xffff)
			hex(filter.HMarkSPI, "hmark-spi", "0x%08x", x.PortSet)
			hex(filter.HMarkProtoMask, "hmark-proto-mask", "0x%02x", uint32(x.ProtoMask))
			hex(filter.HMarkRnd, "hmark-rnd", "0x%08x", x.Rnd)
			dec(filter.HMarkModulus, "hmark-mod", x.Mod)
			dec(filter.HMarkOffset, "hmark-offset", x.Offset)
			if f&filter.HMarkCT != 0 {
				w.opt(false, "hmark-tuple", "ct")
			}
		},
	})
}

// hmarkTuple is hmark_parse_type: a comma-separated list of ct, src, dst,
// sport, dport, proto and spi, each of which may be abbreviated and is
// matched without regard to case, the first of them in that order that
// it begins winning ("s" is src). Each sets its masks to all ones.
func hmarkTuple(x *filter.HMarkTarget, arg string, f packet.Family) error {
	full := uint8(32)
	if f == packet.IPv6 {
		full = 128
	}
	one := func(typ string) bool {
		for _, k := range []string{"ct", "src", "dst", "sport", "dport", "proto", "spi"} {
			if len(typ) > len(k) || !strings.EqualFold(typ, k[:len(typ)]) {
				continue
			}
			switch k {
			case "ct":
				x.Flags |= filter.HMarkCT
			case "src":
				x.SrcPrefix, x.Flags = full, x.Flags|filter.HMarkSrcMask
			case "dst":
				x.DstPrefix, x.Flags = full, x.Flags|filter.HMarkDstMask
			case "sport":
				x.PortMask, x.Flags = x.PortMask|0xffff0000, x.Flags|filter.HMarkSportMask
			case "dport":
				x.PortMask, x.Flags = x.PortMask|0xffff, x.Flags|filter.HMarkDportMask
			case "proto":
				x.ProtoMask, x.Flags = 0xffff, x.Flags|filter.HMarkProtoMask
			case "spi":
				x.PortMask, x.Flags = 0xffffffff, x.Flags|filter.HMarkSPIMask
			}
			return true
		}
		return false
	}
	for {
		typ, rest, comma := strings.Cut(arg, ",")
		if !comma {
			break
		}
		if typ == "" || !one(typ) {
			return fmt.Errorf("%w: Bad type \"%s\"", ErrBadArgument, arg)
		}
		arg = rest
	}
	if arg == "" {
		return fmt.Errorf("%w: \"--hmark-tuple\" requires a list of types with no spaces, e.g. src,dst,sport,dport,proto", ErrBadArgument)
	}
	if !one(arg) {
		return fmt.Errorf("%w: Bad type \"%s\"", ErrBadArgument, arg)
	}
	return nil
}

// hmarkPlen is xtopt's XTTYPE_PLENMASK as iptables 1.8.9 parses it: a
// prefix length up to the family's, or a mask in address form (for IPv4
// any of inet_aton's forms, so that "33" is 0.0.0.33). A mask that is
// not a prefix (xtables_ipmask_to_cidr's -1, a uint8 255 there) falls
// through every case of xtopt_parse_plenmask's shifts and leaves the
// mask all ones: the full length.
func hmarkPlen(ext, option, s string, f packet.Family) (uint8, error) {
	bits := uint64(32)
	if f == packet.IPv6 {
		bits = 128
	}
	if n, ok := strtoui(s, 0, bits); ok {
		return uint8(n), nil
	}
	var a netip.Addr
	ok := false
	if f == packet.IPv6 {
		var err error
		a, err = netip.ParseAddr(s)
		ok = err == nil && a.Is6() && a.Zone() == ""
	} else {
		a, ok = inetAton(s)
	}
	if !ok {
		return 0, fmt.Errorf("%w: %s: bad value for option \"--%s\", neither a valid network mask nor valid CIDR (0-%d)", ErrBadArgument, ext, option, bits)
	}
	n := filter.Net{Addr: a, Mask: a}.Bits()
	if n < 0 {
		return uint8(bits), nil
	}
	return uint8(n), nil
}
