package filter

import "net/netip"

// IPRangeMatch is -m iprange (xt_iprange.c, revision 1): the source and/or
// destination address must lie in an inclusive range.
type IPRangeMatch struct {
	// Src and Dst are --src-range and --dst-range; an invalid From means
	// the option is unset.
	Src, Dst IPRange
	// SrcInvert and DstInvert are their '!'s.
	SrcInvert, DstInvert bool
}

// IPRange is an inclusive address range From-To. A range with From above
// To contains nothing, as in the kernel (iptables accepts it).
type IPRange struct {
	// From and To are the first and last address, of one family.
	From, To netip.Addr
}

// IsZero reports whether the range is unset.
func (r IPRange) IsZero() bool { return !r.From.IsValid() }

// Contains reports whether a is in the range.
func (r IPRange) Contains(a netip.Addr) bool {
	return a.BitLen() == r.From.BitLen() && a.Compare(r.From) >= 0 && a.Compare(r.To) <= 0
}

// Name returns "iprange".
func (*IPRangeMatch) Name() string { return "iprange" }

// Match reports whether the addresses are in the ranges (iprange_mt4/6).
func (m *IPRangeMatch) Match(c *Context) bool {
	p := c.Packet
	if !m.Src.IsZero() && m.Src.Contains(p.Src()) == m.SrcInvert {
		return false
	}
	if !m.Dst.IsZero() && m.Dst.Contains(p.Dst()) == m.DstInvert {
		return false
	}
	return true
}
