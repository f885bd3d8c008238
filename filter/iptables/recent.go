package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m recent (libxt_recent.c, revision 1): one of --set, --rcheck,
// --update and --remove (each may be inverted), --seconds, --reap,
// --hitcount, --rttl, --name, --rsource/--rdest and --mask (an address
// of the rule's family). iptables-save prints them in that order, with
// the name, the mask and the side always.
func init() {
	type m = filter.RecentMatch
	command := func(cmd filter.RecentCommand) func(x *m, c *optCall) error {
		return func(x *m, c *optCall) error {
			x.Command = cmd
			x.Invert = x.Invert || c.invert
			return nil
		}
	}
	commands := []string{"set", "rcheck", "update", "remove"}
	declare(&declared[m]{
		name: "recent",
		init: func(x *m) { x.ListName = "DEFAULT" },
		opts: []declOpt[m]{
			{name: "set", flag: true, invert: true, excl: commands, set: command(filter.RecentSet)},
			{name: "rcheck", flag: true, invert: true, excl: commands, set: command(filter.RecentCheck)},
			{name: "update", flag: true, invert: true, excl: commands, set: command(filter.RecentUpdate)},
			{name: "remove", flag: true, invert: true, excl: commands, set: command(filter.RecentRemove)},
			{name: "seconds", set: setUint(func(x *m) *uint32 { return &x.Seconds }, 1, 1<<32-1, nil)},
			{name: "reap", flag: true, also: []string{"seconds"}, set: func(x *m, _ *optCall) error { x.Reap = true; return nil }},
			{name: "hitcount", set: setUint(func(x *m) *uint32 { return &x.HitCount }, 0, 1<<32-1, nil)},
			{name: "rttl", flag: true, excl: []string{"set", "remove"}, set: func(x *m, _ *optCall) error { x.TTL = true; return nil }},
			{name: "name", set: func(x *m, c *optCall) error {
				// xtopt copies the string into the 200-byte field,
				// cutting what does not fit.
				name := c.value
				if len(name) >= filter.RecentNameLen {
					name = name[:filter.RecentNameLen-1]
				}
				x.ListName = name
				return nil
			}},
			{name: "rsource", flag: true, set: func(x *m, _ *optCall) error { x.Dest = false; return nil }},
			{name: "rdest", flag: true, set: func(x *m, _ *optCall) error { x.Dest = true; return nil }},
			{name: "mask", set: func(x *m, c *optCall) error {
				a, err := parseHostArg(c.value, c.rc.family)
				x.Mask = a
				return err
			}},
		},
		check: func(x *m, _ optSet, rc *ruleContext) error {
			if x.Command == 0 {
				return fmt.Errorf("%w: recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'", ErrSyntax)
			}
			if !x.Mask.IsValid() {
				x.Mask = allOnes(rc.family)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			if x.Invert {
				w.WriteString(" !")
			}
			w.opt(false, [...]string{filter.RecentSet: "set", filter.RecentCheck: "rcheck", filter.RecentUpdate: "update", filter.RecentRemove: "remove"}[x.Command], "")
			// iptables 1.8.9 prints the numbers as signed.
			if x.Seconds != 0 {
				w.opt(false, "seconds", strconv.Itoa(int(int32(x.Seconds))))
			}
			if x.Reap {
				w.opt(false, "reap", "")
			}
			if x.HitCount != 0 {
				w.opt(false, "hitcount", strconv.Itoa(int(int32(x.HitCount))))
			}
			if x.TTL {
				w.opt(false, "rttl", "")
			}
			w.opt(false, "name", x.ListName)
			mask := x.Mask
			if !mask.IsValid() {
				mask = allOnes(w.family)
			}
			w.opt(false, "mask", mask.String())
			if x.Dest {
				w.opt(false, "rdest", "")
			} else {
				w.opt(false, "rsource", "")
			}
		},
	})
}

// allOnes is the all-ones address of the family.
func allOnes(f packet.Family) netip.Addr {
	if f == packet.IPv6 {
		return netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
	}
	return netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
}

// parseHostArg parses an XTTYPE_HOST argument: an address of the family
// as getaddrinfo reads a numeric one (for IPv4 inet_aton's forms, where
// "16" is 0.0.0.16 and "10.1" is 10.0.0.1). Host names are not looked
// up: nfgo does not resolve names in rules.
func parseHostArg(s string, f packet.Family) (netip.Addr, error) {
	if f == packet.IPv6 {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() && a.Zone() == "" {
			return a, nil
		}
		return netip.Addr{}, fmt.Errorf("%w: getaddrinfo: Address family for hostname not supported (%q is not an IPv6 address; nfgo does not resolve host names)", ErrBadArgument, s)
	}
	if a, ok := inetAton(s); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("%w: getaddrinfo: Name or service not known (%q is not an IPv4 address; nfgo does not resolve host names)", ErrBadArgument, s)
}

// inetAton parses an IPv4 address as inet_aton does: one to four parts,
// each a C integer, the last filling the remaining bytes.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint32
	for i, p := range parts {
		last := i == len(parts)-1
		limit := uint64(255)
		if last {
			limit = 1<<(8*(4-i)) - 1
		}
		n, ok := strictUint(p)
		if !ok || n > limit {
			return netip.Addr{}, false
		}
		if last {
			v |= uint32(n)
		} else {
			v |= uint32(n) << (24 - 8*i)
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}
