package filter

import "net/netip"

// NATFlags are a NAT range's flags, with the kernel's NF_NAT_RANGE_*
// values.
type NATFlags uint16

// The NAT range flags.
const (
	// NATMapIPs: the range has addresses (MinAddr..MaxAddr).
	NATMapIPs NATFlags = 1 << 0
	// NATProtoSpecified: the range has ports (MinPort..MaxPort).
	NATProtoSpecified NATFlags = 1 << 1
	// NATProtoRandom: pick the port at random (--random).
	NATProtoRandom NATFlags = 1 << 2
	// NATPersistent: give a client the same address on every connection
	// (--persistent).
	NATPersistent NATFlags = 1 << 3
	// NATProtoRandomFully: pick the port with a full random search
	// (--random-fully).
	NATProtoRandomFully NATFlags = 1 << 4
	// NATProtoOffset: shift ports by port - BasePort into the range
	// (DNAT --to-destination a:x-y/base).
	NATProtoOffset NATFlags = 1 << 5
	// NATNetmap: map addresses one to one into the range (NETMAP).
	NATNetmap NATFlags = 1 << 6
)

// NATRange is a NAT target's range (struct nf_nat_range2): the addresses
// and ports a connection may be mapped to.
type NATRange struct {
	// MinAddr and MaxAddr bound the addresses; valid iff NATMapIPs.
	MinAddr, MaxAddr netip.Addr
	// MinPort and MaxPort bound the ports (or ICMP ids); valid iff
	// NATProtoSpecified.
	MinPort, MaxPort uint16
	// BasePort is the port that maps to MinPort; valid iff
	// NATProtoOffset.
	BasePort uint16
	Flags    NATFlags
}

// The NAT targets only validate and save for now: the rewrite, the unique
// tuple search and the binding stored in the connection come with the nat
// package. Their Do returns Accept because in the kernel a NAT target is
// terminal in the nat table: the first packet of a connection stops
// traversing the table once a binding is set up.

// SNATTarget is -j SNAT: rewrite the source of a new connection
// (xt_nat.c).
type SNATTarget struct{ Range NATRange }

// Name returns "SNAT".
func (*SNATTarget) Name() string { return "SNAT" }

// Allowed: nat table, POSTROUTING and INPUT (source NAT happens after
// routing: the hooks where the packet leaves or is delivered).
func (*SNATTarget) Allowed() (TableMask, HookMask) {
	return Tables(NAT), Hooks(Postrouting, Input)
}

// NeedsConntrack reports true: NAT bindings live in conntrack entries.
func (*SNATTarget) NeedsConntrack() bool { return true }

// Do accepts; see the note on the NAT targets.
func (*SNATTarget) Do(*Context) Verdict { return Verdict{Action: Accept} }

// DNATTarget is -j DNAT: rewrite the destination of a new connection
// (xt_nat.c).
type DNATTarget struct{ Range NATRange }

// Name returns "DNAT".
func (*DNATTarget) Name() string { return "DNAT" }

// Allowed: nat table, PREROUTING and OUTPUT (destination NAT happens
// before the routing decision).
func (*DNATTarget) Allowed() (TableMask, HookMask) {
	return Tables(NAT), Hooks(Prerouting, Output)
}

// NeedsConntrack reports true.
func (*DNATTarget) NeedsConntrack() bool { return true }

// Do accepts; see the note on the NAT targets.
func (*DNATTarget) Do(*Context) Verdict { return Verdict{Action: Accept} }

// MasqueradeTarget is -j MASQUERADE: SNAT to the address of the outgoing
// interface (xt_MASQUERADE.c). Range has ports and flags only.
type MasqueradeTarget struct{ Range NATRange }

// Name returns "MASQUERADE".
func (*MasqueradeTarget) Name() string { return "MASQUERADE" }

// Allowed: nat table, POSTROUTING only (it needs the output interface).
func (*MasqueradeTarget) Allowed() (TableMask, HookMask) {
	return Tables(NAT), Hooks(Postrouting)
}

// NeedsConntrack reports true.
func (*MasqueradeTarget) NeedsConntrack() bool { return true }

// Do accepts; see the note on the NAT targets.
func (*MasqueradeTarget) Do(*Context) Verdict { return Verdict{Action: Accept} }

// RedirectTarget is -j REDIRECT: DNAT to the host itself, the address of
// the incoming interface (xt_REDIRECT.c). Range has ports and flags only.
type RedirectTarget struct{ Range NATRange }

// Name returns "REDIRECT".
func (*RedirectTarget) Name() string { return "REDIRECT" }

// Allowed: nat table, PREROUTING and OUTPUT.
func (*RedirectTarget) Allowed() (TableMask, HookMask) {
	return Tables(NAT), Hooks(Prerouting, Output)
}

// NeedsConntrack reports true.
func (*RedirectTarget) NeedsConntrack() bool { return true }

// Do accepts; see the note on the NAT targets.
func (*RedirectTarget) Do(*Context) Verdict { return Verdict{Action: Accept} }

// NetmapTarget is -j NETMAP: map a whole network one to one onto another,
// keeping the host part (xt_NETMAP.c). It rewrites the destination at
// PREROUTING and OUTPUT, the source at POSTROUTING and INPUT.
type NetmapTarget struct {
	// Range has NATMapIPs|NATNetmap, MinAddr the network and MaxAddr its
	// last address.
	Range NATRange
}

// Name returns "NETMAP".
func (*NetmapTarget) Name() string { return "NETMAP" }

// Allowed: nat table, any of its hooks.
func (*NetmapTarget) Allowed() (TableMask, HookMask) {
	return Tables(NAT), Hooks(Prerouting, Input, Output, Postrouting)
}

// NeedsConntrack reports true.
func (*NetmapTarget) NeedsConntrack() bool { return true }

// Do accepts; see the note on the NAT targets.
func (*NetmapTarget) Do(*Context) Verdict { return Verdict{Action: Accept} }

// Prefix returns the NETMAP network as a prefix, or ok=false when MinAddr
// and MaxAddr do not bound a prefix.
func (t *NetmapTarget) Prefix() (netip.Prefix, bool) {
	lo, hi := t.Range.MinAddr.AsSlice(), t.Range.MaxAddr.AsSlice()
	if len(lo) == 0 || len(lo) != len(hi) {
		return netip.Prefix{}, false
	}
	ones, seenZero := 0, false
	for i := range lo {
		m := ^(lo[i] ^ hi[i])
		for bit := 7; bit >= 0; bit-- {
			if m&(1<<bit) != 0 {
				if seenZero {
					return netip.Prefix{}, false
				}
				ones++
			} else {
				seenZero = true
			}
		}
	}
	return netip.PrefixFrom(t.Range.MinAddr, ones), true
}
