package packet

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The Set methods rewrite a field in place, as NAT and the mangle targets
// do, and update the checksums that cover it incrementally (RFC 1624): the
// IPv4 header checksum, and the L4 checksum, whose pseudo-header covers the
// addresses for TCP, UDP, UDP-Lite, DCCP and ICMPv6 (not ICMPv4, which has
// none). A UDP checksum of 0 means "none" and stays 0 (so does UDP-Lite's,
// which is invalid), and an updated UDP or UDP-Lite checksum that comes out
// 0 is stored as 0xffff, as the kernel's CSUM_MANGLED_0 does. Because the
// update is incremental, a checksum that was wrong stays wrong by the same
// amount: NAT does not launder corrupt packets.
//
// They refuse (return false and change nothing) unless p decoded as OK. A
// truncated embedded packet can be rewritten: the L4 checksum is then
// updated only if the packet holds it (UDP's, not TCP's, in 8 bytes), as the
// kernel's NAT of ICMP errors does.

// SetSrc rewrites the source address. a must be of p's family (an IPv4
// address for IPv4, not an IPv4-mapped IPv6 one).
func (p *Packet) SetSrc(a netip.Addr) bool { return p.setAddr(a, 12, 8) }

// SetDst rewrites the destination address. a must be of p's family.
func (p *Packet) SetDst(a netip.Addr) bool { return p.setAddr(a, 16, 24) }

func (p *Packet) setAddr(a netip.Addr, off4, off6 int) bool {
	if p.Invalid != OK {
		return false
	}
	b := p.b
	var delta uint64
	switch p.Family {
	case IPv4:
		if !a.Is4() {
			return false
		}
		v := a.As4()
		f := b[off4 : off4+4]
		old := binary.BigEndian.Uint32(f)
		nv := binary.BigEndian.Uint32(v[:])
		copy(f, v[:])
		delta = uint64(^old) + uint64(nv)
		binary.BigEndian.PutUint16(b[10:12], applyDelta(binary.BigEndian.Uint16(b[10:12]), delta))
	case IPv6:
		if !a.Is6() {
			return false
		}
		v := a.As16()
		f := b[off6 : off6+16]
		for i := 0; i < 16; i += 4 {
			delta += uint64(^binary.BigEndian.Uint32(f[i:i+4])) + uint64(binary.BigEndian.Uint32(v[i:i+4]))
		}
		copy(f, v[:])
	default:
		return false
	}
	p.Modified = true
	p.adjustL4Checksum(delta, true)
	return true
}

// SetSrcPort rewrites the source port of TCP, UDP, UDP-Lite, DCCP or SCTP.
// SCTP's CRC32c cannot be updated incrementally: it is recomputed, keeping
// any error it had (as the kernel recomputes it in sctp_manip_pkt), unless
// the packet is truncated or a fragment, when it is left alone.
func (p *Packet) SetSrcPort(port uint16) bool {
	if !p.setPort(port, 0) {
		return false
	}
	p.SrcPort = port
	return true
}

// SetDstPort rewrites the destination port; see [Packet.SetSrcPort].
func (p *Packet) SetDstPort(port uint16) bool {
	if !p.setPort(port, 2) {
		return false
	}
	p.DstPort = port
	return true
}

func (p *Packet) setPort(port uint16, at int) bool {
	if p.Invalid != OK || p.L4Off == 0 {
		return false
	}
	switch p.Proto {
	case ProtoTCP, ProtoUDP, ProtoUDPLite, ProtoDCCP, ProtoSCTP:
	default:
		return false
	}
	f := p.b[p.L4Off+at : p.L4Off+at+2]
	old := binary.BigEndian.Uint16(f)
	p.Modified = true
	if p.Proto == ProtoSCTP {
		p.setSCTPField(f, port)
		return true
	}
	binary.BigEndian.PutUint16(f, port)
	p.adjustL4Checksum(uint64(^old)+uint64(port), false)
	return true
}

// setSCTPField stores v in the 16-bit field f of p's SCTP header and fixes
// the CRC32c. CRC32c is linear, so storing crc(new) ^ crc(old) ^ stored
// keeps the difference between the stored and the correct CRC.
func (p *Packet) setSCTPField(f []byte, v uint16) {
	if p.Truncated || p.Fragment {
		binary.BigEndian.PutUint16(f, v)
		return
	}
	l4 := p.b[p.L4Off:p.Length]
	before := sctpCRC(l4)
	binary.BigEndian.PutUint16(f, v)
	after := sctpCRC(l4)
	stored := binary.LittleEndian.Uint32(l4[8:12])
	binary.LittleEndian.PutUint32(l4[8:12], stored^before^after)
}

// SetICMPID rewrites the identifier of an ICMP or ICMPv6 query message (the
// types for which Decode sets ICMPID), as NAT does for echo requests.
func (p *Packet) SetICMPID(id uint16) bool {
	if p.Invalid != OK || p.L4Off == 0 ||
		(p.Proto != ProtoICMP && p.Proto != ProtoICMPv6) || !icmpHasID(p.Proto, p.ICMPType) {
		return false
	}
	f := p.b[p.L4Off+4 : p.L4Off+6]
	old := binary.BigEndian.Uint16(f)
	binary.BigEndian.PutUint16(f, id)
	p.Modified = true
	p.adjustL4Checksum(uint64(^old)+uint64(id), false)
	p.ICMPID = id
	return true
}

// SetGRECallID rewrites the call ID of a PPTP packet (GRE version 1,
// RFC 2637 4.1: the low half of the key field), as the kernel's GRE NAT
// does for the destination of a PPTP call (gre_manip_pkt). Enhanced GRE
// has no checksum, so nothing else changes. It reports false for any
// other packet, or one whose key is cut off.
func (p *Packet) SetGRECallID(id uint16) bool {
	if p.Invalid != OK || p.L4Off == 0 || p.Proto != ProtoGRE || p.GREVersion != 1 || !p.HasGREKey {
		return false
	}
	binary.BigEndian.PutUint16(p.b[p.L4Off+6:p.L4Off+8], id)
	p.Modified = true
	p.GREKey = p.GREKey&^0xffff | uint32(id)
	return true
}

// SetTTL rewrites the IPv4 TTL, updating the header checksum, or the IPv6
// hop limit. It does nothing unless the IP header decoded (Length != 0), so
// that it works on packets whose L4 header is invalid, which the kernel
// still forwards.
func (p *Packet) SetTTL(ttl uint8) {
	if p.Length == 0 {
		return
	}
	b := p.b
	switch p.Family {
	case IPv4:
		// TTL shares a 16-bit word with the protocol.
		old := binary.BigEndian.Uint16(b[8:10])
		b[8] = ttl
		p.updateIPv4HeaderChecksum(old, binary.BigEndian.Uint16(b[8:10]))
	case IPv6:
		b[7] = ttl
	}
	p.TTL = ttl
	p.Modified = true
}

// SetTOS rewrites the IPv4 TOS, updating the header checksum, or the IPv6
// traffic class. Like [Packet.SetTTL] it needs only the IP header.
func (p *Packet) SetTOS(tos uint8) {
	if p.Length == 0 {
		return
	}
	b := p.b
	switch p.Family {
	case IPv4:
		// TOS shares a 16-bit word with version and IHL.
		old := binary.BigEndian.Uint16(b[0:2])
		b[1] = tos
		p.updateIPv4HeaderChecksum(old, binary.BigEndian.Uint16(b[0:2]))
	case IPv6:
		// The traffic class straddles the first two bytes, after the
		// version nibble.
		b[0] = b[0]&0xf0 | tos>>4
		b[1] = tos<<4 | b[1]&0x0f
	}
	p.TOS = tos
	p.Modified = true
}

// SetTCPMSS rewrites the value of the TCP header's MSS option in place, as
// the TCPMSS target does when the option is present (it does not insert
// one), and updates the TCP checksum. It reports false if there is no MSS
// option.
func (p *Packet) SetTCPMSS(mss uint16) bool {
	if p.Invalid != OK {
		return false
	}
	at := p.mssOffset()
	if at == 0 {
		return false
	}
	f := p.b[at : at+2]
	old := binary.BigEndian.Uint16(f)
	binary.BigEndian.PutUint16(f, mss)
	p.Modified = true
	if (at-p.L4Off)%2 == 0 {
		p.adjustL4Checksum(uint64(^old)+uint64(mss), false)
	} else {
		// After an odd number of NOPs the value straddles two checksum
		// words; its contribution to the sum is then byte-swapped.
		p.adjustL4Checksum(uint64(^bits.ReverseBytes16(old))+uint64(bits.ReverseBytes16(mss)), false)
	}
	p.TCPOptions.MSS = mss
	return true
}

func (p *Packet) updateIPv4HeaderChecksum(old, new uint16) {
	f := p.b[10:12]
	binary.BigEndian.PutUint16(f, UpdateChecksum16(binary.BigEndian.Uint16(f), old, new))
}

// applyDelta updates checksum c for a change whose ones' complement
// difference, the sum of ~old and new words, is delta (RFC 1624 eqn. 3).
func applyDelta(c uint16, delta uint64) uint16 {
	return ^fold(uint64(^c) + delta)
}

// adjustL4Checksum applies delta to p's L4 checksum, if p has one that
// covers the change and holds it: pseudo says the change is in the
// pseudo-header (an address) rather than in the L4 header.
func (p *Packet) adjustL4Checksum(delta uint64, pseudo bool) {
	if p.L4Off == 0 {
		return
	}
	var at int
	switch p.Proto {
	case ProtoTCP:
		at = 16
	case ProtoUDP, ProtoUDPLite, ProtoDCCP:
		at = 6
	case ProtoICMPv6:
		at = 2
	case ProtoICMP:
		if pseudo {
			return
		}
		at = 2
	default:
		return
	}
	at += p.L4Off
	if at+2 > p.Length {
		return
	}
	f := p.b[at : at+2]
	c := binary.BigEndian.Uint16(f)
	if p.PartialChecksum {
		// The field holds the pseudo-header's sum, not its complement:
		// only a change to the pseudo-header moves it, and in the other
		// sense (inet_proto_csum_replace4 on CHECKSUM_PARTIAL).
		if pseudo {
			binary.BigEndian.PutUint16(f, fold(uint64(c)+delta))
		}
		return
	}
	if c == 0 && (p.Proto == ProtoUDP || p.Proto == ProtoUDPLite) {
		// UDP's "no checksum" stays so; UDP-Lite's invalid 0 stays
		// invalid rather than turning into some checksum.
		return
	}
	c = applyDelta(c, delta)
	if p.Proto == ProtoUDP || p.Proto == ProtoUDPLite {
		c = nonZero(c)
	}
	binary.BigEndian.PutUint16(f, c)
}

// setL4Word32 stores v in the 32-bit field of the L4 header at b[at:]
// and updates the checksum for it. At an odd distance from the L4
// header's start, the field's two halves land byte-swapped in the
// checksum's 16-bit words.
func (p *Packet) setL4Word32(at int, v uint32) {
	f := p.b[at : at+4]
	old := binary.BigEndian.Uint32(f)
	binary.BigEndian.PutUint32(f, v)
	p.Modified = true
	oh, ol, nh, nl := uint16(old>>16), uint16(old), uint16(v>>16), uint16(v)
	if (at-p.L4Off)%2 != 0 {
		oh, ol, nh, nl = bits.ReverseBytes16(oh), bits.ReverseBytes16(ol), bits.ReverseBytes16(nh), bits.ReverseBytes16(nl)
	}
	p.adjustL4Checksum(uint64(^oh)+uint64(nh)+uint64(^ol)+uint64(nl), false)
}

// tcpHeaderOK reports whether p has a whole TCP header to rewrite.
func (p *Packet) tcpHeaderOK() bool {
	return p.Invalid == OK && p.Proto == ProtoTCP && p.L4Off != 0 && !p.Truncated
}

// SetTCPSeqAck rewrites the TCP sequence and acknowledgement numbers, as
// sequence adjustment does, and updates the checksum. It reports whether
// either changed.
func (p *Packet) SetTCPSeqAck(seq, ack uint32) bool {
	if !p.tcpHeaderOK() || seq == p.Seq && ack == p.Ack {
		return false
	}
	if seq != p.Seq {
		p.setL4Word32(p.L4Off+4, seq)
		p.Seq = seq
	}
	if ack != p.Ack {
		p.setL4Word32(p.L4Off+8, ack)
		p.Ack = ack
	}
	return true
}

// MapSACK replaces each edge of the TCP header's SACK blocks with
// fn(edge), updating the checksum, and reports whether any changed. It
// walks the options as nf_ct_sack_adjust does: it stops at the end of
// the option list or at a malformed option, and only touches SACK
// options whose length is a whole number of blocks.
func (p *Packet) MapSACK(fn func(edge uint32) uint32) bool {
	if !p.tcpHeaderOK() {
		return false
	}
	changed := false
	end := p.PayloadOff
	for i := p.L4Off + tcpMinHeaderLen; i < end; {
		switch p.b[i] {
		case TCPOptionEnd:
			return changed
		case TCPOptionNOP:
			i++
			continue
		}
		if i+1 >= end || p.b[i+1] < 2 || i+int(p.b[i+1]) > end {
			return changed
		}
		n := int(p.b[i+1])
		if p.b[i] == TCPOptionSACK && n >= 10 && (n-2)%8 == 0 {
			for at := i + 2; at < i+n; at += 4 {
				old := binary.BigEndian.Uint32(p.b[at:])
				if v := fn(old); v != old {
					p.setL4Word32(at, v)
					changed = true
				}
			}
		}
		i += n
	}
	return changed
}

// SetTCPFlags rewrites the TCP flags byte and updates the checksum, as
// the ECN target does (the checksum word is the data offset and the
// flags). It reports false if p has no whole TCP header.
func (p *Packet) SetTCPFlags(flags uint8) bool {
	if !p.tcpHeaderOK() {
		return false
	}
	at := p.L4Off + 12
	old := binary.BigEndian.Uint16(p.b[at:])
	p.b[at+1] = flags
	nw := binary.BigEndian.Uint16(p.b[at:])
	if nw != old {
		p.Modified = true
		p.adjustL4Checksum(uint64(^old)+uint64(nw), false)
	}
	p.TCPFlags = flags
	return true
}

// StripTCPOptions replaces each TCP option whose kind strip reports true
// with NOPs, walking the options as the kernel's TCPOPTSTRIP does (kinds
// 0 and 1 and a zero length take one byte; an option running past the
// header ends the walk; the header's last byte is not looked at), and
// updates the checksum. It reports whether anything changed.
func (p *Packet) StripTCPOptions(strip func(kind uint8) bool) bool {
	if !p.tcpHeaderOK() {
		return false
	}
	start := p.L4Off
	hl := int(p.b[start+12]>>4) * 4
	if hl < 20 || start+hl > p.Length {
		return false
	}
	h := p.b[start : start+hl]
	changed := false
	for i := 20; i < hl-1; {
		n := 1
		if h[i] > 1 && h[i+1] != 0 {
			n = int(h[i+1])
		}
		if i+n > hl {
			break
		}
		if strip(h[i]) {
			for j := i; j < i+n; j++ {
				w := start + j&^1
				old := binary.BigEndian.Uint16(p.b[w:])
				h[j] = 1
				p.adjustL4Checksum(uint64(^old)+uint64(binary.BigEndian.Uint16(p.b[w:])), false)
			}
			changed = true
		}
		i += n
	}
	if changed {
		p.Modified = true
		p.TCPOptions = TCPOptions{}
		p.TCPOptions.parse(h[20:])
	}
	return changed
}

// AddTCPTimestamps adds dVal to the TSval and dEcr to the TSecr of the
// TCP header's first timestamps option, updating the checksum, and
// reports whether there was one. It walks the options as
// synproxy_tstamp_adjust does: it stops at the end of the option list
// or at a malformed option. The decoded TSVal and TSEcr fields are left
// as they were.
func (p *Packet) AddTCPTimestamps(dVal, dEcr uint32) bool {
	if !p.tcpHeaderOK() {
		return false
	}
	end := p.PayloadOff
	for i := p.L4Off + tcpMinHeaderLen; i < end; {
		switch p.b[i] {
		case TCPOptionEnd:
			return false
		case TCPOptionNOP:
			i++
			continue
		}
		if i+1 >= end || p.b[i+1] < 2 || i+int(p.b[i+1]) > end {
			return false
		}
		n := int(p.b[i+1])
		if p.b[i] == TCPOptionTimestamps && n == 10 {
			if dVal != 0 {
				p.setL4Word32(i+2, binary.BigEndian.Uint32(p.b[i+2:])+dVal)
			}
			if dEcr != 0 {
				p.setL4Word32(i+6, binary.BigEndian.Uint32(p.b[i+6:])+dEcr)
			}
			return true
		}
		i += n
	}
	return false
}
