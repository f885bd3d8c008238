package filter

import "github.com/nfgo/nfgo/packet"

// ICMPAnyType is the ICMP type value that -m icmp --icmp-type any stores;
// it matches every ICMP message (ipt_icmp's test_type 0xFF).
const ICMPAnyType = 0xFF

// ICMPMatch is -m icmp --icmp-type (ip_tables.c, icmp_match).
type ICMPMatch struct {
	// Type is the ICMP type; ICMPAnyType matches any type.
	Type uint8
	// CodeMin and CodeMax bound the code: 0 and 255 for any code.
	CodeMin, CodeMax uint8
	// Invert is the '!' of --icmp-type.
	Invert bool
}

// Name returns "icmp".
func (*ICMPMatch) Name() string { return "icmp" }

// Match reports whether the ICMP type and code match. Non-first fragments
// and packets without an ICMP header never match, even inverted.
func (m *ICMPMatch) Match(c *Context) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	if p.L4Off == 0 {
		// icmp_match reads the 8-byte header or drops the packet as an
		// "evil ICMP tinygram".
		xtHeader(c, 8)
		return false
	}
	ok := m.Type == ICMPAnyType ||
		(p.ICMPType == m.Type && p.ICMPCode >= m.CodeMin && p.ICMPCode <= m.CodeMax)
	return ok != m.Invert
}

// RequiredProto binds the match to -p icmp: the kernel's xt_check_match
// refuses it for any other protocol (the nft backend passes it to the
// kernel as an xt match, so "RULE_APPEND failed (Invalid argument)").
func (*ICMPMatch) RequiredProto() (uint8, bool) { return packet.ProtoICMP, false }

// ICMPv6Match is -m icmp6 --icmpv6-type (ip6_tables.c, icmp6_match).
// Unlike ICMPMatch there is no "any" type: type 255 is just type 255.
type ICMPv6Match struct {
	// Type is the ICMPv6 type.
	Type uint8
	// CodeMin and CodeMax bound the code: 0 and 255 for any code.
	CodeMin, CodeMax uint8
	// Invert is the '!' of --icmpv6-type.
	Invert bool
}

// Name returns "icmp6".
func (*ICMPv6Match) Name() string { return "icmp6" }

// Match reports whether the ICMPv6 type and code match.
func (m *ICMPv6Match) Match(c *Context) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	if p.L4Off == 0 {
		// icmp6_match, like icmp_match, drops a packet whose 8-byte
		// header is not all there.
		xtHeader(c, 8)
		return false
	}
	ok := p.ICMPType == m.Type && p.ICMPCode >= m.CodeMin && p.ICMPCode <= m.CodeMax
	return ok != m.Invert
}

// RequiredProto binds the match to -p ipv6-icmp.
func (*ICMPv6Match) RequiredProto() (uint8, bool) { return packet.ProtoICMPv6, false }
