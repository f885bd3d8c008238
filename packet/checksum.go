package packet

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

// castagnoli is the CRC32c table of SCTP's checksum (RFC 9260 appendix A).
// MakeTable allocates once, here.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeroChecksum stands in for the SCTP checksum field while computing the
// CRC. It is never written; a local array would escape to the heap through
// crc32.Update.
var zeroChecksum [4]byte

// Checksum returns the Internet checksum (RFC 1071) of b: the ones'
// complement of the ones' complement sum of b's big-endian 16-bit words (an
// odd last byte padded with zero), with initial added to the sum. initial is
// a partial sum such as a pseudo-header's, 0 if there is none.
//
// To compute a checksum, zero the field and store Checksum's result in it;
// to verify one, Checksum over the data with the field in place is 0.
func Checksum(b []byte, initial uint32) uint16 {
	return ^fold(sum(b, uint64(initial)))
}

// sum returns initial plus the ones' complement sum of b's big-endian 16-bit
// words, unfolded. The result is below 2^37 when initial is below 2^36, so
// callers may add a few more such terms before folding.
//
// The ones' complement sum does not depend on byte order (RFC 1071 2(B)), so
// the words are loaded little-endian, which is native on the common hosts,
// added 64 bits at a time with end-around carry, and byte-swapped once at
// the end.
func sum(b []byte, initial uint64) uint64 {
	var acc, carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[0:8]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[0:8]), carry)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, carry = bits.Add64(acc, uint64(binary.LittleEndian.Uint32(b[0:4])), carry)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.LittleEndian.Uint16(b[0:2])), carry)
		b = b[2:]
	}
	if len(b) == 1 {
		// The odd byte is the high byte of a big-endian word, which is
		// the low byte in little-endian order.
		acc, carry = bits.Add64(acc, uint64(b[0]), carry)
	}
	acc, carry = bits.Add64(acc, 0, carry)
	acc += carry // cannot overflow: acc wrapped to 0 if carry is 1
	return uint64(bits.ReverseBytes16(fold(acc))) + initial
}

// fold reduces a sum of 16-bit words to 16 bits with end-around carry.
func fold(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// UpdateChecksum16 returns checksum sum updated for a 16-bit word of the
// checksummed data changing from old to new, by RFC 1624 equation 3:
// HC' = ~(~HC + ~m + m'). The word must be at an even offset from the start
// of the checksummed data; for an odd offset, byte-swap old and new.
func UpdateChecksum16(sum, old, new uint16) uint16 {
	return ^fold(uint64(^sum) + uint64(^old) + uint64(new))
}

// UpdateChecksum32 is [UpdateChecksum16] for a 32-bit field at an even
// offset, such as an IPv4 address.
func UpdateChecksum32(sum uint16, old, new uint32) uint16 {
	return ^fold(uint64(^sum) + uint64(^old) + uint64(new))
}

// pseudoSum returns the sum of the L4 pseudo-header of p for protocol proto
// and upper-layer length n.
func (p *Packet) pseudoSum(proto uint8, n int) uint64 {
	return pseudoSum(p.Family, p.b, proto, n)
}

// pseudoSum returns the sum of the pseudo-header for protocol proto and
// upper-layer length n of the packet whose IP header starts ip: RFC 9293
// 3.1 for IPv4, RFC 8200 8.1 for IPv6.
func pseudoSum(f Family, ip []byte, proto uint8, n int) uint64 {
	s := uint64(proto) + uint64(n)
	if f == IPv4 {
		a := ip[12:20]
		return s + uint64(binary.BigEndian.Uint32(a[0:4])) + uint64(binary.BigEndian.Uint32(a[4:8]))
	}
	a := ip[8:40]
	for i := 0; i < len(a); i += 4 {
		s += uint64(binary.BigEndian.Uint32(a[i : i+4]))
	}
	return s
}

// IPv4HeaderChecksumOK reports whether p is IPv4 and its header checksum is
// correct. Decode does not check it, since ip_rcv has already dropped a
// packet with a bad one on the paths netfilter sees.
func (p *Packet) IPv4HeaderChecksumOK() bool {
	if p.Family != IPv4 || p.Length == 0 {
		return false
	}
	return Checksum(p.b[:p.ipHeaderLen()], 0) == 0
}

// l4Checksummable reports whether p's L4 checksum can be computed: the
// packet is valid, complete, and not a fragment (whose checksum covers the
// reassembled datagram).
func (p *Packet) l4Checksummable() bool {
	return p.Invalid == OK && !p.Truncated && !p.Fragment && p.L4Off != 0
}

// L4ChecksumOK reports whether p's L4 checksum is correct: TCP, UDP, UDP-Lite,
// DCCP and ICMPv6 with their pseudo-header, ICMP without one, SCTP's CRC32c,
// and GRE's optional checksum. A UDP checksum of 0 means "none" and is OK
// over IPv4 but not over IPv6 (RFC 8200 8.1); UDP-Lite must always have one
// (RFC 3828 3.1). Protocols without a checksum (ESP, AH, unknown) are OK.
//
// A packet with a [Packet.PartialChecksum] is OK: its checksum is yet to
// be computed, and the kernel does not verify it either; so is one with
// [Packet.ChecksumVerified], whose checksum was verified already.
//
// It reports false when the checksum cannot be verified: p is invalid,
// truncated, a fragment, or has no L4 header.
func (p *Packet) L4ChecksumOK() bool {
	if (p.PartialChecksum || p.ChecksumVerified) && p.Invalid == OK {
		return true // skb_csum_unnecessary
	}
	if !p.l4Checksummable() {
		return false
	}
	l4 := p.b[p.L4Off:p.Length]
	switch p.Proto {
	case ProtoTCP, ProtoICMPv6:
		return fold(sum(l4, p.pseudoSum(p.Proto, len(l4)))) == 0xffff
	case ProtoUDP:
		if binary.BigEndian.Uint16(l4[6:8]) == 0 {
			return p.Family == IPv4
		}
		n := int(binary.BigEndian.Uint16(l4[4:6]))
		return fold(sum(l4[:n], p.pseudoSum(ProtoUDP, n))) == 0xffff
	case ProtoUDPLite:
		if binary.BigEndian.Uint16(l4[6:8]) == 0 {
			return false
		}
		return fold(sum(l4[:udpLiteCoverage(l4)], p.pseudoSum(ProtoUDPLite, len(l4)))) == 0xffff
	case ProtoDCCP:
		cov, ok := dccpCoverage(l4)
		return ok && fold(sum(l4[:cov], p.pseudoSum(ProtoDCCP, len(l4)))) == 0xffff
	case ProtoICMP:
		return Checksum(l4, 0) == 0
	case ProtoSCTP:
		return binary.LittleEndian.Uint32(l4[8:12]) == sctpCRC(l4)
	case ProtoGRE:
		if l4[0]&greChecksum == 0 {
			return true
		}
		return Checksum(l4, 0) == 0
	}
	return true
}

// udpLiteCoverage returns how many bytes of the UDP-Lite datagram l4 its
// checksum covers (RFC 3828 3.1). Decode has validated the field.
func udpLiteCoverage(l4 []byte) int {
	if n := int(binary.BigEndian.Uint16(l4[4:6])); n != 0 {
		return n
	}
	return len(l4)
}

// dccpCoverage returns how many bytes of the DCCP packet l4 its checksum
// covers: everything if CsCov is 0, else the header and CsCov-1 words of
// data (RFC 4340 9.2). It reports false if that exceeds the packet, which
// RFC 4340 9.2 says makes the packet invalid.
func dccpCoverage(l4 []byte) (int, bool) {
	cscov := int(l4[5] & 0x0f)
	if cscov == 0 {
		return len(l4), true
	}
	n := int(l4[4])<<2 + (cscov-1)<<2
	return n, n <= len(l4)
}

// sctpCRC returns the CRC32c of the SCTP packet l4 with its checksum field
// taken as zero (RFC 9260 6.8), in the byte order it is stored in.
func sctpCRC(l4 []byte) uint32 {
	c := crc32.Update(0, castagnoli, l4[:8])
	c = crc32.Update(c, castagnoli, zeroChecksum[:])
	return crc32.Update(c, castagnoli, l4[12:])
}

// ComputeChecksums recomputes from scratch the IPv4 header checksum and the
// L4 checksum, for a packet being built: TCP, UDP, UDP-Lite, DCCP, ICMP,
// ICMPv6, SCTP, and GRE when its checksum bit is set. A computed UDP or
// UDP-Lite checksum of 0 is sent as 0xffff (RFC 768), since 0 means none.
//
// It does nothing for an invalid packet, and leaves the L4 checksum alone for
// a truncated packet or a fragment, whose checksum covers bytes it does not
// have.
func (p *Packet) ComputeChecksums() {
	if p.Invalid != OK {
		return
	}
	b := p.b
	p.Modified = true
	if p.Family == IPv4 {
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:12], Checksum(b[:p.ipHeaderLen()], 0))
	}
	if !p.l4Checksummable() {
		return
	}
	p.PartialChecksum = false // what follows is a full checksum
	l4 := b[p.L4Off:p.Length]
	var field []byte
	var c uint16
	switch p.Proto {
	case ProtoTCP:
		field = l4[16:18]
		field[0], field[1] = 0, 0
		c = ^fold(sum(l4, p.pseudoSum(ProtoTCP, len(l4))))
	case ProtoICMPv6:
		field = l4[2:4]
		field[0], field[1] = 0, 0
		c = ^fold(sum(l4, p.pseudoSum(ProtoICMPv6, len(l4))))
	case ProtoICMP:
		field = l4[2:4]
		field[0], field[1] = 0, 0
		c = Checksum(l4, 0)
	case ProtoUDP:
		field = l4[6:8]
		field[0], field[1] = 0, 0
		n := int(binary.BigEndian.Uint16(l4[4:6]))
		c = nonZero(^fold(sum(l4[:n], p.pseudoSum(ProtoUDP, n))))
	case ProtoUDPLite:
		field = l4[6:8]
		field[0], field[1] = 0, 0
		c = nonZero(^fold(sum(l4[:udpLiteCoverage(l4)], p.pseudoSum(ProtoUDPLite, len(l4)))))
	case ProtoDCCP:
		cov, ok := dccpCoverage(l4)
		if !ok {
			return
		}
		field = l4[6:8]
		field[0], field[1] = 0, 0
		c = ^fold(sum(l4[:cov], p.pseudoSum(ProtoDCCP, len(l4))))
	case ProtoSCTP:
		binary.LittleEndian.PutUint32(l4[8:12], sctpCRC(l4))
		return
	case ProtoGRE:
		if l4[0]&greChecksum == 0 {
			return
		}
		field = l4[4:6]
		field[0], field[1] = 0, 0
		c = Checksum(l4, 0)
	default:
		return
	}
	binary.BigEndian.PutUint16(field, c)
}

// nonZero maps a computed UDP checksum of 0 to 0xffff, its other ones'
// complement representation, since 0 on the wire means "no checksum"
// (RFC 768).
func nonZero(c uint16) uint16 {
	if c == 0 {
		return 0xffff
	}
	return c
}

// CompleteChecksum turns a partial L4 checksum ([Packet.PartialChecksum])
// into a full one, as the kernel's skb_checksum_help does: the ones'
// complement of the sum of the L4 bytes, whose checksum field holds the
// pseudo-header's sum, written as 0xffff when it comes to 0. It
// does nothing if p's checksum is not partial, p is invalid, truncated
// or a fragment, or its protocol has no such checksum (TCP, UDP,
// UDP-Lite, DCCP and ICMPv6 have), and otherwise clears PartialChecksum.
func (p *Packet) CompleteChecksum() {
	if !p.PartialChecksum || !p.l4Checksummable() {
		return
	}
	l4 := p.b[p.L4Off:p.Length]
	n, at := len(l4), 0
	switch p.Proto {
	case ProtoTCP:
		at = 16
	case ProtoUDP:
		at, n = 6, int(binary.BigEndian.Uint16(l4[4:6]))
	case ProtoUDPLite:
		at, n = 6, udpLiteCoverage(l4)
	case ProtoDCCP:
		cov, ok := dccpCoverage(l4)
		if !ok {
			return
		}
		at, n = 6, cov
	case ProtoICMPv6:
		at = 2
	default:
		return
	}
	// skb_checksum_help writes a sum that folds to 0 as 0xffff
	// (CSUM_MANGLED_0) whatever the protocol, as UDP needs it.
	c := nonZero(^fold(sum(l4[:n], 0)))
	binary.BigEndian.PutUint16(l4[at:at+2], c)
	p.PartialChecksum = false
	p.Modified = true
}
