package packet

// ICMP message types (IANA "ICMP Type Numbers") this package gives meaning
// to, as they appear in [Packet.ICMPType] for ProtoICMP.
const (
	ICMPEchoReply      = 0
	ICMPDestUnreach    = 3
	ICMPSourceQuench   = 4
	ICMPRedirect       = 5
	ICMPEcho           = 8
	ICMPTimeExceeded   = 11
	ICMPParamProblem   = 12
	ICMPTimestamp      = 13
	ICMPTimestampReply = 14
	ICMPInfoRequest    = 15
	ICMPInfoReply      = 16
	ICMPAddress        = 17
	ICMPAddressReply   = 18
	ICMPExtEcho        = 42
	ICMPExtEchoReply   = 43
)

// ICMPv6 message types (IANA "ICMPv6 Type Numbers") this package gives
// meaning to, as they appear in [Packet.ICMPType] for ProtoICMPv6.
const (
	ICMPv6DestUnreach    = 1
	ICMPv6PacketTooBig   = 2
	ICMPv6TimeExceeded   = 3
	ICMPv6ParamProblem   = 4
	ICMPv6EchoRequest    = 128
	ICMPv6EchoReply      = 129
	ICMPv6NIQuery        = 139
	ICMPv6NIReply        = 140
	ICMPv6ExtEchoRequest = 160
	ICMPv6ExtEchoReply   = 161
)

const (
	// icmpv6InfoMsgMask is set in ICMPv6 informational types: types
	// below 128 are errors (RFC 4443 2.1).
	icmpv6InfoMsgMask = 0x80

	// icmpMaxKnownType is the last type in the kernel's icmp_pointers
	// table (NR_ICMP_TYPES).
	icmpMaxKnownType = ICMPAddressReply

	// icmpv4ErrorTypes has a bit set for each type that icmp_pointers
	// marks as an error: besides the real errors, the unassigned 1, 2
	// and 7, the deprecated 6, and router discovery's 9 and 10.
	icmpv4ErrorTypes = 1<<1 | 1<<2 | 1<<ICMPDestUnreach | 1<<ICMPSourceQuench | 1<<ICMPRedirect |
		1<<6 | 1<<7 | 1<<9 | 1<<10 | 1<<ICMPTimeExceeded | 1<<ICMPParamProblem
)

// icmpHasID reports whether ICMP (proto 1) or ICMPv6 (proto 58) messages of
// type typ carry an identifier and sequence number after the checksum: the
// query messages that conntrack tracks by id.
func icmpHasID(proto, typ uint8) bool {
	if proto == ProtoICMP {
		switch typ {
		case ICMPEchoReply, ICMPEcho, ICMPTimestamp, ICMPTimestampReply,
			ICMPInfoRequest, ICMPInfoReply, ICMPAddress, ICMPAddressReply,
			ICMPExtEcho, ICMPExtEchoReply:
			return true
		}
		return false
	}
	switch typ {
	case ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6NIQuery, ICMPv6NIReply,
		ICMPv6ExtEchoRequest, ICMPv6ExtEchoReply:
		return true
	}
	return false
}

// IsICMPError reports whether p is an ICMP error that embeds the packet
// that caused it: ICMPv4 destination unreachable, source quench, redirect,
// time exceeded or parameter problem (the types conntrack relates to a
// connection), or any ICMPv6 type below 128 (RFC 4443 2.1).
func (p *Packet) IsICMPError() bool {
	if p.L4Off == 0 {
		return false
	}
	switch {
	case p.Family == IPv4 && p.Proto == ProtoICMP:
		switch p.ICMPType {
		case ICMPDestUnreach, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParamProblem:
			return true
		}
	case p.Family == IPv6 && p.Proto == ProtoICMPv6:
		return p.ICMPType&icmpv6InfoMsgMask == 0
	}
	return false
}

// Embedded decodes the packet embedded in the ICMP or ICMPv6 error p into
// inner, which the caller owns, with [Packet.DecodeEmbedded]. It reports
// false if p is not an ICMP error, nothing is embedded, or the embedded
// packet is invalid or of the other IP family; inner is then still decoded
// as far as it goes, if anything was embedded.
//
// inner shares p's buffer. Rewriting inner (as NAT does to the embedded
// packet of an error) changes p's ICMP payload without fixing p's ICMP
// checksum: call p.ComputeChecksums afterwards, as the kernel's
// nf_nat_icmp_reply_translation recomputes it.
func (p *Packet) Embedded(inner *Packet) bool {
	if !p.IsICMPError() || p.PayloadOff >= p.Length {
		return false
	}
	inner.DecodeEmbedded(p.b[p.PayloadOff:p.Length])
	return inner.Invalid == OK && inner.Family == p.Family
}

// isICMPv4ErrorType reports whether the kernel's icmp_send counts ICMP type
// typ as an error, never to be answered with another error: the types its
// icmp_pointers table marks as errors, and any type it does not know.
func isICMPv4ErrorType(typ uint8) bool {
	return typ > icmpMaxKnownType || icmpv4ErrorTypes&(1<<typ) != 0
}
