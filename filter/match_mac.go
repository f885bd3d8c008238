package filter

// MACMatch is -m mac --mac-source (xt_mac.c): the Ethernet source
// address of the frame the packet arrived in, from its link header
// (Context.LinkHeader) or, without one, Context.Origin.HWAddr. A packet
// with neither never matches, inverted or not, as in the kernel (a TUN
// device's packets have no link header).
type MACMatch struct {
	Source [6]byte
	Invert bool
}

// Name returns "mac".
func (*MACMatch) Name() string { return "mac" }

// ethHeaderLen is ETH_HLEN.
const ethHeaderLen = 14

// Match compares the link header's source address.
func (m *MACMatch) Match(c *Context) bool {
	var src []byte
	switch {
	case len(c.LinkHeader) >= ethHeaderLen:
		src = c.LinkHeader[6:12]
	case len(c.Origin.HWAddr) == 6:
		src = c.Origin.HWAddr
	default:
		return false
	}
	return ([6]byte(src) == m.Source) != m.Invert
}

// Allowed restricts the match to where a packet has arrived by an
// interface: PREROUTING, INPUT and FORWARD.
func (*MACMatch) Allowed() (TableMask, HookMask) { return 0, Hooks(Prerouting, Input, Forward) }
