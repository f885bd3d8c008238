package packet

import (
	"encoding/binary"
	"net/netip"
)

// Limits on how much of the offending packet an ICMP error quotes.
const (
	// icmpv4QuoteMax is what fits in the 576 bytes that RFC 1812 4.3.2.3
	// (and icmp_send) allow an ICMP error, after a 20-byte IP header and
	// the 8-byte ICMP header.
	icmpv4QuoteMax = 576 - ipv4MinHeaderLen - icmpHeaderLen

	// icmpv6QuoteMax is what fits in the IPv6 minimum MTU (RFC 4443
	// 2.4(c)), after the IPv6 and ICMPv6 headers.
	icmpv6QuoteMax = 1280 - ipv6HeaderLen - icmpHeaderLen
)

// The builders write the packet at the start of dst's backing array when
// cap(dst) is large enough, and allocate only otherwise. dst may share its
// backing array with orig's buffer, so that a reply can be built over the
// packet it answers.

// BuildTCPReset builds the TCP RST that iptables' REJECT --reject-with
// tcp-reset sends in reply to orig, as the kernel's nf_send_reset and
// nf_send_reset6 build it, and returns it with true. ttl is the TTL or hop
// limit to send it with (the kernel uses the route's).
//
// The reset goes back to orig's source, from orig's destination, with the
// ports swapped. If orig has ACK set, the reset has sequence number orig.Ack
// and only RST; otherwise it has sequence number 0, RST and ACK, and
// acknowledges orig.Seq plus SYN, FIN and the payload length. The window is
// 0 and there are no options. IPv4: TOS 0, ID 0, DF set. IPv6: traffic
// class and flow label 0.
//
// It reports false, building nothing, when the kernel sends nothing: orig is
// invalid or truncated, not TCP, a non-first fragment, itself a RST, or has
// a source or destination that is not unicast (multicast, unspecified, or
// the IPv4 limited broadcast). The kernel also drops orig if its TCP
// checksum is bad; checking that is left to the caller
// ([Packet.L4ChecksumOK]).
func BuildTCPReset(dst []byte, orig *Packet, ttl uint8) ([]byte, bool) {
	if orig.Invalid != OK || orig.Truncated || orig.L4Off == 0 || orig.Proto != ProtoTCP ||
		orig.TCPFlags&TCPRst != 0 {
		return nil, false
	}
	osrc, odst := orig.Src(), orig.Dst()
	if !isUnicast(osrc) || !isUnicast(odst) {
		return nil, false
	}
	// Read everything from orig before writing: dst may alias it.
	var seq, ack uint32
	flags := uint8(TCPRst)
	if orig.TCPFlags&TCPAck != 0 {
		seq = orig.Ack
	} else {
		ack = orig.Seq + uint32(orig.Length-orig.PayloadOff)
		if orig.TCPFlags&TCPSyn != 0 {
			ack++
		}
		if orig.TCPFlags&TCPFin != 0 {
			ack++
		}
		flags |= TCPAck
	}
	sport, dport := orig.DstPort, orig.SrcPort
	family := orig.Family

	hl := ipv4MinHeaderLen
	if family == IPv6 {
		hl = ipv6HeaderLen
	}
	out := grow(dst, hl+tcpMinHeaderLen)
	putIPHeader(out, family, 0, uint16(hl+tcpMinHeaderLen), true, ttl, ProtoTCP, odst, osrc)

	t := out[hl:]
	binary.BigEndian.PutUint16(t[0:2], sport)
	binary.BigEndian.PutUint16(t[2:4], dport)
	binary.BigEndian.PutUint32(t[4:8], seq)
	binary.BigEndian.PutUint32(t[8:12], ack)
	t[12] = (tcpMinHeaderLen / 4) << 4
	t[13] = flags
	clear(t[14:20]) // window, checksum, urgent pointer
	binary.BigEndian.PutUint16(t[16:18], ^fold(sum(t, pseudoSum(family, out, ProtoTCP, len(t)))))
	return out, true
}

// BuildICMPError builds the ICMP (IPv4) or ICMPv6 (IPv6) error of type typ
// and code that answers orig, as iptables' REJECT --reject-with
// icmp-port-unreachable and the like send it, from src to orig's source,
// with TTL or hop limit ttl, and returns it with true. The 4 bytes after the
// checksum (unused, or MTU or pointer for some types) are zero, as REJECT
// sends them.
//
// It quotes as much of orig, from its IP header on, as fits: 576 bytes of
// ICMP error in all for IPv4, as the kernel's icmp_send does, and the IPv6
// minimum MTU of 1280 for ICMPv6, as icmp6_send does. The IPv4 TOS is
// orig's with the precedence set to internetwork control, as icmp_send sets
// it; IPv4 ID and DF are 0, IPv6 traffic class and flow label 0.
//
// It reports false, building nothing, when the kernel sends no error: src is
// not of orig's family; orig is invalid or truncated, or has a multicast
// destination or a source that is not unicast (RFC 1122 3.2.2, RFC 4443
// 2.4(e)); orig is itself an ICMP error (for IPv4, any ICMP type that
// icmp_send's table does not know counts as one); or, for IPv4, orig is a
// non-first fragment (RFC 1122 3.2.2; IPv6 answers any fragment).
func BuildICMPError(dst []byte, orig *Packet, src netip.Addr, typ, code uint8, ttl uint8) ([]byte, bool) {
	if orig.Invalid != OK || orig.Truncated {
		return nil, false
	}
	osrc, odst := orig.Src(), orig.Dst()
	if !isUnicast(osrc) || odst.IsMulticast() || isLimitedBroadcast(odst) {
		return nil, false
	}
	var hl, quoteMax int
	var proto, tos uint8
	switch orig.Family {
	case IPv4:
		if !src.Is4() || orig.FragOffset != 0 ||
			(orig.Proto == ProtoICMP && isICMPv4ErrorType(orig.ICMPType)) {
			return nil, false
		}
		hl, quoteMax, proto = ipv4MinHeaderLen, icmpv4QuoteMax, ProtoICMP
		tos = orig.TOS&0x1e | 0xc0 // RT_TOS(tos) | IPTOS_PREC_INTERNETCONTROL
	case IPv6:
		// is_ineligible in net/ipv6/icmp.c: an ICMPv6 error is never
		// answered; a later fragment, whose type cannot be read, is.
		if !src.Is6() || (orig.Proto == ProtoICMPv6 && orig.L4Off != 0 && orig.ICMPType&icmpv6InfoMsgMask == 0) {
			return nil, false
		}
		hl, quoteMax, proto = ipv6HeaderLen, icmpv6QuoteMax, ProtoICMPv6
	default:
		return nil, false
	}
	quote := orig.Bytes()
	quote = quote[:min(len(quote), quoteMax)]
	n := hl + icmpHeaderLen + len(quote)
	out := grow(dst, n)
	// Quote first: copy is a memmove, so this is right even if dst aliases
	// orig's buffer, which the headers would overwrite.
	copy(out[hl+icmpHeaderLen:], quote)
	putIPHeader(out, orig.Family, tos, uint16(n), false, ttl, proto, src, osrc)

	m := out[hl:n]
	m[0], m[1] = typ, code
	clear(m[2:8]) // checksum and rest of header
	var c uint16
	if proto == ProtoICMP {
		c = Checksum(m, 0)
	} else {
		c = ^fold(sum(m, pseudoSum(IPv6, out, ProtoICMPv6, len(m))))
	}
	binary.BigEndian.PutUint16(m[2:4], c)
	return out, true
}

// putIPHeader writes a 20-byte IPv4 header (checksum included) or a 40-byte
// IPv6 header with no options or extension headers at the start of b. n is
// the total length of the packet; df sets IPv4's DF bit; ID, flow label and
// IPv6 traffic class are 0.
func putIPHeader(b []byte, f Family, tos uint8, n uint16, df bool, ttl, proto uint8, src, dst netip.Addr) {
	if f == IPv4 {
		h := b[:ipv4MinHeaderLen]
		h[0] = 0x45
		h[1] = tos
		binary.BigEndian.PutUint16(h[2:4], n)
		clear(h[4:8]) // ID, flags, fragment offset
		if df {
			h[6] = 0x40
		}
		h[8] = ttl
		h[9] = proto
		h[10], h[11] = 0, 0
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:12], Checksum(h, 0))
		return
	}
	h := b[:ipv6HeaderLen]
	binary.BigEndian.PutUint32(h[0:4], 6<<28)
	binary.BigEndian.PutUint16(h[4:6], n-ipv6HeaderLen)
	h[6] = proto
	h[7] = ttl
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
}

// grow returns dst's backing array resliced to n bytes if it is large
// enough, else a new slice.
func grow(dst []byte, n int) []byte {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]byte, n)
}

// isUnicast reports whether a can be the source or destination of a reply:
// not the zero Addr, unspecified, multicast or the IPv4 limited broadcast.
func isUnicast(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !isLimitedBroadcast(a)
}

func isLimitedBroadcast(a netip.Addr) bool {
	return a.Is4() && a.As4() == [4]byte{255, 255, 255, 255}
}
