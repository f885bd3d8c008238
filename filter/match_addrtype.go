package filter

import (
	"errors"
	"fmt"
	"net/netip"
)

// AddrTypeMatch is -m addrtype (xt_addrtype.c, revision 1): the route type
// of the source and/or destination address.
type AddrTypeMatch struct {
	// Src and Dst are --src-type and --dst-type; 0 leaves one unset.
	Src, Dst AddrType
	// SrcInvert and DstInvert are their '!'s.
	SrcInvert, DstInvert bool
	// LimitIfaceIn and LimitIfaceOut are --limit-iface-in and
	// --limit-iface-out: look the address up on the input (or output)
	// interface only.
	LimitIfaceIn, LimitIfaceOut bool
}

// Name returns "addrtype".
func (*AddrTypeMatch) Name() string { return "addrtype" }

// Match asks c.Env for each address's type. Without an Env, the type is
// guessed from the address alone: what inet_addr_type answers before it
// consults the routing table (0.0.0.0 and 255.255.255.255 are broadcast,
// 224/4 and ff00::/8 multicast, :: unspecified), loopback is local, and
// anything else unicast.
func (m *AddrTypeMatch) Match(c *Context) bool {
	iface := ""
	switch {
	case m.LimitIfaceIn:
		iface = c.In
	case m.LimitIfaceOut:
		iface = c.Out
	}
	p := c.Packet
	if m.Src != 0 && (addrType(c.Env, p.Src(), iface)&m.Src != 0) == m.SrcInvert {
		return false
	}
	if m.Dst != 0 && (addrType(c.Env, p.Dst(), iface)&m.Dst != 0) == m.DstInvert {
		return false
	}
	return true
}

func addrType(env Env, a netip.Addr, iface string) AddrType {
	if env != nil {
		return env.AddrType(a, iface)
	}
	switch {
	case a.Is4() && (a == netip.IPv4Unspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})):
		return AddrBroadcast
	case a.IsUnspecified():
		return AddrUnspec
	case a.IsMulticast():
		return AddrMulticast
	case a.IsLoopback():
		return AddrLocal
	}
	return AddrUnicast
}

// CheckRule applies addrtype_mt_checkentry_v1's hook rules: there is no
// input interface at OUTPUT and POSTROUTING, and no output interface at
// PREROUTING and INPUT.
func (m *AddrTypeMatch) CheckRule(_ *Rule, at Site) error {
	switch {
	case m.LimitIfaceIn && m.LimitIfaceOut:
		return errors.New("both incoming and outgoing interface limitation cannot be selected")
	case m.LimitIfaceIn && at.Hooks&Hooks(Output, Postrouting) != 0:
		return fmt.Errorf("%w: input interface limitation not valid in POSTROUTING and OUTPUT", ErrNotAllowed)
	case m.LimitIfaceOut && at.Hooks&Hooks(Prerouting, Input) != 0:
		return fmt.Errorf("%w: output interface limitation not valid in PREROUTING and INPUT", ErrNotAllowed)
	}
	return nil
}
