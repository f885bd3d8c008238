package packet

import "encoding/binary"

func (p *Packet) decode6(b []byte, embedded bool) {
	p.Family = IPv6
	if len(b) < ipv6HeaderLen {
		p.Invalid = InvalidIPv6Truncated
		return
	}
	total := ipv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total == ipv6HeaderLen && b[6] == ProtoHopByHop {
		// A jumbogram (RFC 2675) declares payload length 0 and carries
		// its real length in a Hop-by-Hop option. ipv6_rcv skips the
		// length check for it; so do we, and trust the buffer.
		total = len(b)
	}
	declared := total
	total, ok := p.clampHeader(total, len(b), embedded, 0, InvalidIPv6LengthExceedsPacket)
	if !ok {
		return
	}
	p.WireLength = declared
	p.Length = total
	vtf := binary.BigEndian.Uint32(b[0:4])
	p.TOS = uint8(vtf >> 20)
	p.FlowLabel = vtf & 0x000fffff
	p.TTL = b[7]
	p.walkIPv6(b[:total], embedded)
}

// walkIPv6 skips the extension headers of the IPv6 packet b (trimmed to
// Length) as the kernel's ipv6_skip_exthdr does, then decodes the L4
// header.
//
// Like the kernel, it walks the headers in any order and any number, which
// RFC 8200 4.1 does not allow, so that a filter sees the same protocol that
// Linux would.
func (p *Packet) walkIPv6(b []byte, embedded bool) {
	next := b[6]
	off := ipv6HeaderLen
	for {
		switch next {
		case ProtoHopByHop, ProtoRouting, ProtoDestOpts:
			// RFC 8200 4.3: the length is in 8-byte units, not counting
			// the first 8.
			if off+2 > len(b) {
				p.Invalid = InvalidIPv6ExtHeader
				return
			}
			hl := (int(b[off+1]) + 1) << 3
			if off+hl > len(b) {
				p.Invalid = InvalidIPv6ExtHeader
				return
			}
			next = b[off]
			off += hl
		case ProtoAH:
			// RFC 4302 2.2: AH counts its length in 4-byte units, minus 2.
			if off+8 > len(b) {
				p.Invalid = InvalidIPv6ExtHeader
				return
			}
			hl := (int(b[off+1]) + 2) << 2
			if off+hl > len(b) {
				p.Invalid = InvalidIPv6ExtHeader
				return
			}
			p.SPI = binary.BigEndian.Uint32(b[off+4 : off+8])
			next = b[off]
			off += hl
		case ProtoFragment:
			if off+8 > len(b) {
				p.Invalid = InvalidIPv6ExtHeader
				return
			}
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			p.Fragment = true
			p.FragOffset = fo &^ 7
			p.MoreFragments = fo&1 != 0
			p.FragID = binary.BigEndian.Uint32(b[off+4 : off+8])
			next = b[off]
			off += 8
			if p.FragOffset != 0 {
				// A later fragment: the kernel stops here, and what
				// follows is not a header.
				p.Proto = next
				p.PayloadOff = off
				return
			}
		case ProtoNoNextHeader:
			p.Proto = next
			p.PayloadOff = off
			return
		default:
			p.Proto = next
			p.decodeL4(b, off, embedded)
			return
		}
	}
}
