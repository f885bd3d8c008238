package iptables

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j TPROXY --on-port PORT [--on-ip ADDR] [--tproxy-mark VALUE[/MASK]]
// (libxt_TPROXY.c, revision 1 for IPv4, 1 for IPv6), and -m socket
// [--transparent] [--nowildcard] [--restore-skmark] (libxt_socket.c,
// revision 3). iptables-save prints TPROXY's three options always: the
// unspecified address when --on-ip was not given, 0x0/0x0 when the mark
// was not.
func init() {
	type t = filter.TProxyTarget
	declare(&declared[t]{
		name: "TPROXY", target: true,
		opts: []declOpt[t]{
			{name: "on-port", must: true, set: func(x *t, c *optCall) error {
				p, err := parseXTPort(c.value)
				x.OnPort = p
				return err
			}},
			{name: "on-ip", set: func(x *t, c *optCall) error {
				a, err := parseHostArg(c.value, c.rc.family)
				x.OnIP = a
				return err
			}},
			{name: "tproxy-mark", set: setMarkMask(func(x *t) *uint32 { return &x.MarkValue }, func(x *t) *uint32 { return &x.MarkMask }, nil)},
		},
		save: func(w *saver, x *t) {
			w.opt(false, "on-port", strconv.Itoa(int(x.OnPort)))
			ip := x.OnIP
			if !ip.IsValid() {
				ip = unspecified(w.family)
			}
			w.opt(false, "on-ip", ip.String())
			w.opt(false, "tproxy-mark", "0x"+strconv.FormatUint(uint64(x.MarkValue), 16)+"/0x"+strconv.FormatUint(uint64(x.MarkMask), 16))
		},
	})
	type m = filter.SocketMatch
	declare(&declared[m]{
		name: "socket",
		opts: []declOpt[m]{
			{name: "transparent", flag: true, set: func(x *m, _ *optCall) error { x.Transparent = true; return nil }},
			{name: "nowildcard", flag: true, set: func(x *m, _ *optCall) error { x.NoWildcard = true; return nil }},
			{name: "restore-skmark", flag: true, set: func(x *m, _ *optCall) error { x.RestoreMark = true; return nil }},
		},
		save: func(w *saver, x *m) {
			if x.Transparent {
				w.opt(false, "transparent", "")
			}
			if x.NoWildcard {
				w.opt(false, "nowildcard", "")
			}
			if x.RestoreMark {
				w.opt(false, "restore-skmark", "")
			}
		},
	})
}

// unspecified is the family's unspecified address.
func unspecified(f packet.Family) netip.Addr {
	if f == packet.IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// parseXTPort reads an XTTYPE_PORT argument as xtables_getportbyname
// does, through getaddrinfo: decimal digits, taken modulo 65536, or a
// service name.
func parseXTPort(s string) (uint16, error) {
	digits := s != ""
	for i := 0; i < len(s); i++ {
		digits = digits && s[i] >= '0' && s[i] <= '9'
	}
	if digits {
		var v uint64
		for i := 0; i < len(s); i++ {
			v = v*10 + uint64(s[i]-'0')
		}
		return uint16(v), nil
	}
	if p, ok := lookupService(s, 0); ok {
		return p, nil
	}
	return 0, fmt.Errorf("%w: Port \"%s\" does not resolve to anything.", ErrBadArgument, s) //lint:ignore ST1005 xtables' message
}
