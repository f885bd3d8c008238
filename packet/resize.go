package packet

import "encoding/binary"

// Rewrites that change a packet's length: a protocol helper putting a
// longer address into an FTP PORT command or a SIP header
// (nf_nat_mangle_tcp_packet, nf_nat_mangle_udp_packet), and TCPMSS
// adding a missing MSS option. The packet grows within the capacity of
// the buffer it was decoded from, so a caller that decodes into a buffer
// with room to spare pays no allocation; only when the room runs out is
// it moved into a new buffer, and [Packet.Bytes] always returns it where
// it is.

// maxIPLen is the largest packet the IP length fields can describe
// (without IPv6 jumbograms), the bound the kernel's enlarge_skb keeps.
const maxIPLen = 0xffff

// growSlack is the extra capacity given to a buffer that has to be
// replaced, so that a second rewrite of the same packet fits.
const growSlack = 256

// ReplacePayload replaces the n bytes at offset off of the transport
// payload with rep, as the kernel's mangle_contents does: the bytes after
// them move, the IPv4 total length (and header checksum) or the IPv6
// payload length follow, and so does the UDP length. The transport
// checksum is then the correct one for the new contents, as after the
// kernel's nf_nat_csum_recalc: computed afresh, or for a
// [Packet.PartialChecksum] the pseudo-header sum moved by the length; a
// UDP checksum of 0 ("none") stays 0. The packet is decoded again, so
// every field, PayloadOff and the Length among them, describes the new
// bytes.
//
// It works on TCP and UDP only, and refuses (returns false, changing
// nothing) a packet that is not OK, truncated or a fragment, a range
// outside the payload, and a result longer than 65535 bytes.
func (p *Packet) ReplacePayload(off, n int, rep []byte) bool {
	if p.Invalid != OK || p.Truncated || p.Fragment || p.L4Off == 0 ||
		(p.Proto != ProtoTCP && p.Proto != ProtoUDP) {
		return false
	}
	pay := p.Payload()
	if off < 0 || n < 0 || off > len(pay) || n > len(pay)-off {
		return false
	}
	end := p.PayloadOff + len(pay) // UDP's length may end before the IP length
	if end != p.Length {
		return false // bytes past the UDP datagram: nothing the kernel would keep in step
	}
	oldLen := p.Length
	newLen := oldLen + len(rep) - n
	if newLen > maxIPLen {
		return false
	}
	b := p.grow(newLen)
	at := p.PayloadOff + off
	copy(b[at+len(rep):newLen], b[at+n:oldLen])
	copy(b[at:], rep)
	p.setLengths(b[:newLen], oldLen)
	return true
}

// grow returns the packet's buffer with room for newLen bytes: its own if
// the capacity allows, else a copy in a new one.
func (p *Packet) grow(newLen int) []byte {
	b := p.b
	if newLen <= cap(b) {
		return b[:max(newLen, p.Length)]
	}
	nb := make([]byte, max(newLen, p.Length), newLen+growSlack)
	copy(nb, b[:p.Length])
	return nb
}

// setLengths makes b, the packet's bytes after a resize, consistent:
// the IP length fields, the UDP length and the transport checksum, then
// decodes it again. oldLen is the packet's length before.
func (p *Packet) setLengths(b []byte, oldLen int) {
	newLen := len(b)
	l4off := p.L4Off
	oldL4, newL4 := oldLen-l4off, newLen-l4off
	switch p.Family {
	case IPv4:
		binary.BigEndian.PutUint16(b[2:4], uint16(newLen))
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:12], Checksum(b[:p.ipHeaderLen()], 0))
	case IPv6:
		binary.BigEndian.PutUint16(b[4:6], uint16(newLen-ipv6HeaderLen))
	}
	l4 := b[l4off:]
	at := 16
	if p.Proto == ProtoUDP {
		at = 6
		binary.BigEndian.PutUint16(l4[4:6], uint16(newL4))
	}
	field := l4[at : at+2]
	partial := p.PartialChecksum
	switch {
	case partial:
		// The field holds the pseudo-header's sum, which covers the
		// length (inet_proto_csum_replace2 of the old by the new).
		c := binary.BigEndian.Uint16(field)
		binary.BigEndian.PutUint16(field, fold(uint64(c)+uint64(^uint16(oldL4))+uint64(uint16(newL4))))
	case p.Proto == ProtoUDP && binary.BigEndian.Uint16(field) == 0:
		// No checksum stays no checksum (nf_nat_mangle_udp_packet).
	default:
		field[0], field[1] = 0, 0
		c := ^fold(sum(l4, pseudoSum(p.Family, b, p.Proto, newL4)))
		if p.Proto == ProtoUDP {
			c = nonZero(c)
		}
		binary.BigEndian.PutUint16(field, c)
	}
	p.decode(b, false)
	p.PartialChecksum = partial
	p.Modified = true
}

// TCPMSSOptionLen is the length of the TCP MSS option (kind, length and a
// 16-bit value).
const TCPMSSOptionLen = 4

// InsertTCPMSS adds an MSS option with value mss at the start of the TCP
// options, as the TCPMSS target does for a SYN that has none
// (tcpmss_mangle_packet): the header grows by 4 bytes, the data offset,
// the IP length fields and the checksums are updated incrementally, as
// the kernel updates them. It refuses (returns false, changing nothing)
// a packet that is not a whole TCP segment, one that already has an MSS
// option, one that carries data (adding the option would mean moving
// it), and one whose header is already 60 bytes long.
func (p *Packet) InsertTCPMSS(mss uint16) bool {
	if !p.tcpHeaderOK() || p.Fragment || p.TCPOptions.HasMSS || p.PayloadOff != p.Length {
		return false
	}
	hl := p.PayloadOff - p.L4Off
	if hl >= 60 || p.Length+TCPMSSOptionLen > maxIPLen {
		return false
	}
	oldLen := p.Length
	b := p.grow(oldLen + TCPMSSOptionLen)
	b = b[:oldLen+TCPMSSOptionLen]
	th := b[p.L4Off:]
	opt := th[tcpMinHeaderLen:]
	copy(opt[TCPMSSOptionLen:], opt[:hl-tcpMinHeaderLen])
	opt[0], opt[1] = TCPOptionMSS, TCPMSSOptionLen
	binary.BigEndian.PutUint16(opt[2:4], mss)

	check := binary.BigEndian.Uint16(th[16:18])
	adjust := func(old, new uint16, pseudo bool) {
		if p.PartialChecksum {
			if pseudo {
				check = fold(uint64(check) + uint64(^old) + uint64(new))
			}
			return
		}
		check = applyDelta(check, uint64(^old)+uint64(new))
	}
	// The segment's length, in the pseudo-header; the option's two
	// words; the data offset, in the word it shares with the flags.
	adjust(uint16(hl), uint16(hl+TCPMSSOptionLen), true)
	adjust(0, binary.BigEndian.Uint16(opt[0:2]), false)
	adjust(0, mss, false)
	oldWord := binary.BigEndian.Uint16(th[12:14])
	th[12] += TCPMSSOptionLen / 4 << 4
	adjust(oldWord, binary.BigEndian.Uint16(th[12:14]), false)
	binary.BigEndian.PutUint16(th[16:18], check)

	switch p.Family {
	case IPv4:
		old := binary.BigEndian.Uint16(b[2:4])
		binary.BigEndian.PutUint16(b[2:4], old+TCPMSSOptionLen)
		binary.BigEndian.PutUint16(b[10:12], UpdateChecksum16(binary.BigEndian.Uint16(b[10:12]), old, old+TCPMSSOptionLen))
	case IPv6:
		binary.BigEndian.PutUint16(b[4:6], binary.BigEndian.Uint16(b[4:6])+TCPMSSOptionLen)
	}
	partial := p.PartialChecksum
	p.decode(b, false)
	p.PartialChecksum = partial
	p.Modified = true
	return true
}
