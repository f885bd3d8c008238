package filter

import "github.com/nfgo/nfgo/packet"

// TTLCompare is how -m ttl and -m hl compare (IPT_TTL_EQ … IPT_TTL_GT).
type TTLCompare uint8

// The comparison modes.
const (
	TTLCompareEq TTLCompare = iota // --ttl-eq / --hl-eq
	TTLCompareNe                   // ! --ttl-eq / ! --hl-eq
	TTLCompareLt                   // --ttl-lt / --hl-lt
	TTLCompareGt                   // --ttl-gt / --hl-gt
)

func (mode TTLCompare) cmp(v, ref uint8) bool {
	switch mode {
	case TTLCompareEq:
		return v == ref
	case TTLCompareNe:
		return v != ref
	case TTLCompareLt:
		return v < ref
	default:
		return v > ref
	}
}

// TTLMatch is -m ttl (ipt_ttl.c, IPv4): compares the TTL.
type TTLMatch struct {
	// Mode is the comparison; Value the TTL compared with.
	Mode  TTLCompare
	Value uint8
}

// Name returns "ttl".
func (*TTLMatch) Name() string { return "ttl" }

// Match compares the packet's TTL with Value.
func (m *TTLMatch) Match(c *Context) bool {
	return c.Packet.Family == packet.IPv4 && m.Mode.cmp(c.Packet.TTL, m.Value)
}

// HLMatch is -m hl (ip6t_hl.c, IPv6): compares the hop limit.
type HLMatch struct {
	// Mode is the comparison; Value the hop limit compared with.
	Mode  TTLCompare
	Value uint8
}

// Name returns "hl".
func (*HLMatch) Name() string { return "hl" }

// Match compares the packet's hop limit with Value.
func (m *HLMatch) Match(c *Context) bool {
	return c.Packet.Family == packet.IPv6 && m.Mode.cmp(c.Packet.TTL, m.Value)
}
