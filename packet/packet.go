package packet

import (
	"encoding/binary"
	"net/netip"
)

// Family is the IP version of a packet. The zero value means unknown.
type Family uint8

// IP families, numbered as the version field of the IP header.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "IPv4", "IPv6" or "unknown".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "unknown"
}

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") that this
// package knows about, as they appear in [Packet.Proto].
const (
	ProtoHopByHop     = 0
	ProtoICMP         = 1
	ProtoIGMP         = 2
	ProtoIPIP         = 4
	ProtoTCP          = 6
	ProtoUDP          = 17
	ProtoDCCP         = 33
	ProtoIPv6         = 41
	ProtoRouting      = 43
	ProtoFragment     = 44
	ProtoGRE          = 47
	ProtoESP          = 50
	ProtoAH           = 51
	ProtoICMPv6       = 58
	ProtoNoNextHeader = 59
	ProtoDestOpts     = 60
	ProtoSCTP         = 132
	ProtoUDPLite      = 136
)

// TCP header flags, as they appear in [Packet.TCPFlags].
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Header sizes.
const (
	ipv4MinHeaderLen = 20
	ipv6HeaderLen    = 40
	tcpMinHeaderLen  = 20
	udpHeaderLen     = 8
	icmpHeaderLen    = 8 // ICMP and ICMPv6 alike: type, code, checksum and 4 bytes of "rest of header"
	sctpHeaderLen    = 12
	dccpMinHeaderLen = 12
	espHeaderLen     = 8 // SPI and sequence number
	ahMinHeaderLen   = 12

	// embeddedL4Min is how much of the L4 header RFC 792 and RFC 4443
	// promise to include in an ICMP error: enough for ports or an ICMP id.
	embeddedL4Min = 8
)

// Invalid classifies why a packet could not be parsed completely. The zero
// value, [OK], means the packet is well formed as far as this package looks.
//
// Values are ordered by layer: those for which [Invalid.L4] reports true are
// failures of the L4 header, after the IP header (and IPv6 extension headers)
// parsed fine.
type Invalid uint8

// Reasons a packet is invalid.
const (
	OK Invalid = iota

	InvalidEmpty                   // empty packet
	InvalidVersion                 // version nibble is neither 4 nor 6
	InvalidIPv4Truncated           // shorter than 20 bytes or than its IHL
	InvalidIPv4HeaderLength        // IHL < 5, as ip_rcv rejects
	InvalidIPv4TotalLength         // total length < header length
	InvalidIPv4LengthExceedsPacket // total length > bytes available
	InvalidIPv6Truncated           // shorter than 40 bytes
	InvalidIPv6LengthExceedsPacket // 40 + payload length > bytes available
	InvalidIPv6ExtHeader           // an extension header runs past the packet

	InvalidTCPTruncated    // fewer than 20 bytes of TCP header
	InvalidTCPDataOffset   // data offset < 5 or past the end of the packet
	InvalidUDPTruncated    // fewer than 8 bytes of UDP header
	InvalidUDPLength       // UDP length < 8 or > bytes available
	InvalidUDPLiteCoverage // checksum coverage is neither 0 nor in [8, length] (RFC 3828)
	InvalidICMPTruncated   // fewer than 8 bytes of ICMP header
	InvalidICMPv6Truncated // fewer than 8 bytes of ICMPv6 header
	InvalidSCTPTruncated   // fewer than 12 bytes of SCTP common header
	InvalidDCCPTruncated   // fewer than 12 bytes of DCCP header
	InvalidDCCPDataOffset  // data offset too small for the header, or past the end
	InvalidGRETruncated    // GRE header shorter than its flags say
	InvalidGREHeader       // GRE version > 1, routing present, or bad PPTP (version 1) flags
	InvalidESPTruncated    // fewer than 8 bytes of ESP header
	InvalidAHTruncated     // AH header shorter than its length field says
	InvalidAHLength        // AH length field below the 12-byte minimum

	numInvalid
	firstL4Invalid = InvalidTCPTruncated
)

var invalidStrings = [numInvalid]string{
	OK:                             "ok",
	InvalidEmpty:                   "empty packet",
	InvalidVersion:                 "unsupported IP version",
	InvalidIPv4Truncated:           "truncated IPv4 header",
	InvalidIPv4HeaderLength:        "bad IPv4 header length",
	InvalidIPv4TotalLength:         "bad IPv4 total length",
	InvalidIPv4LengthExceedsPacket: "IPv4 total length exceeds packet",
	InvalidIPv6Truncated:           "truncated IPv6 header",
	InvalidIPv6LengthExceedsPacket: "IPv6 payload length exceeds packet",
	InvalidIPv6ExtHeader:           "bad IPv6 extension header",
	InvalidTCPTruncated:            "truncated TCP header",
	InvalidTCPDataOffset:           "bad TCP data offset",
	InvalidUDPTruncated:            "truncated UDP header",
	InvalidUDPLength:               "bad UDP length",
	InvalidUDPLiteCoverage:         "bad UDP-Lite checksum coverage",
	InvalidICMPTruncated:           "truncated ICMP header",
	InvalidICMPv6Truncated:         "truncated ICMPv6 header",
	InvalidSCTPTruncated:           "truncated SCTP header",
	InvalidDCCPTruncated:           "truncated DCCP header",
	InvalidDCCPDataOffset:          "bad DCCP data offset",
	InvalidGRETruncated:            "truncated GRE header",
	InvalidGREHeader:               "unsupported GRE header",
	InvalidESPTruncated:            "truncated ESP header",
	InvalidAHTruncated:             "truncated AH header",
	InvalidAHLength:                "bad AH length",
}

// String returns a short human reason, such as "truncated TCP header".
func (i Invalid) String() string {
	if i < numInvalid {
		return invalidStrings[i]
	}
	return "unknown invalid reason"
}

// L4 reports whether i is a failure of the L4 header: the IP header and
// every IPv6 extension header parsed, so the IP-level fields of the Packet
// are valid.
func (i Invalid) L4() bool { return i >= firstL4Invalid }

// Packet is a decoded view of one IPv4 or IPv6 packet. The caller owns it and
// reuses it across packets; [Packet.Decode] resets every field.
//
// The Packet keeps the buffer it decoded (zero copy): accessors such as
// [Packet.Payload] return sub-slices of it, and the Set methods write to it.
//
// When Invalid != OK, fields are valid only up to the layer that failed, as
// each field's comment says: "IP fields" are valid iff Length != 0, and "L4
// fields" are valid iff L4Off != 0.
type Packet struct {
	b []byte // the decoded buffer, untrimmed
	// transportOff is where the transport header starts, even when it
	// is invalid (0 for a non-first fragment or no transport header).
	transportOff int

	// Family is the IP version. It is set from the version nibble whenever
	// that is 4 or 6, even when the header turns out to be truncated.
	Family Family

	// Invalid says why the packet is not well formed; OK if it is.
	Invalid Invalid

	// Truncated is set only by [Packet.DecodeEmbedded]: the packet is shorter
	// than its IP header says, or its L4 header is cut short. The L4 fields
	// that lie within the available bytes are still valid (at least the
	// ports, ICMP id or SPI), but checksums cannot be verified.
	Truncated bool

	// PartialChecksum says the L4 checksum is not yet computed: its field
	// holds only the sum of the pseudo-header, and the NIC or the kernel
	// completes it on the way out (CHECKSUM_PARTIAL; NFQUEUE reports it as
	// NFQA_SKB_CSUMNOTREADY). Decode clears it; whoever knows sets it
	// afterwards. Such a packet's checksum counts as good, the Set methods
	// keep its field a correct partial sum (as the kernel's
	// inet_proto_csum_replace does), and [Packet.CompleteChecksum] turns
	// it into a full checksum, which a packet needs before it is handed
	// back to NFQUEUE as a new payload (the kernel then marks it
	// CHECKSUM_NONE).
	PartialChecksum bool

	// ChecksumVerified says whoever delivered the packet verified its L4
	// checksum already: the kernel's CHECKSUM_UNNECESSARY, which NFQUEUE
	// reports by leaving NFQA_SKB_CSUM_NOTVERIFIED unset. Such a packet's
	// checksum counts as good, as the kernel's checks (nf_checksum) take
	// it. Decode clears it; whoever knows sets it afterwards.
	ChecksumVerified bool

	// Modified is set by every method that changes the packet's bytes
	// (the Set methods, ComputeChecksums, CompleteChecksum), so that a
	// caller knows whether to hand the kernel a new payload. Decode
	// clears it.
	Modified bool

	// Length is the IP total length as declared and validated (IPv6: 40 +
	// payload length). Bytes beyond it, e.g. Ethernet padding, are ignored.
	// It is 0 iff the IP header failed to parse. For a truncated embedded
	// packet it is the number of bytes available.
	Length int

	// WireLength is the length the IP header declares: Length, or more
	// for a truncated packet (an ICMP error's embedded packet, or an
	// NFQUEUE copy cut by the copy range), whose bytes stop short of it.
	// Sequence tracking, counters and -m length use it.
	WireLength int

	// L4Off is the offset of the L4 header, 0 if there is none: the IP or
	// extension headers failed to parse, the L4 header is invalid, the packet
	// is a non-first fragment, or the IPv6 chain ends in No Next Header.
	// For protocols this package does not parse, it is where their header
	// starts, and PayloadOff equals it.
	L4Off int

	// PayloadOff is the offset of the L4 payload (the data after the TCP,
	// UDP, ICMP, ... header). For a non-first fragment and for No Next
	// Header, it is the offset of the data after the IP headers. It is 0
	// when the headers before it failed to parse.
	PayloadOff int

	// Proto is the final L4 protocol number. For IPv6 it is found by walking
	// Hop-by-Hop, Routing, Fragment, Destination Options and AH headers, as
	// the kernel's ipv6_skip_exthdr does; ESP and anything unknown end the
	// walk, and No Next Header gives ProtoNoNextHeader. For a non-first IPv6
	// fragment it is the Fragment header's next header, as ipv6_find_hdr
	// reports it for ip6tables' -p (so it agrees with IPv4, whose protocol
	// field every fragment carries). Valid with the IP fields (not when
	// Invalid is InvalidIPv6ExtHeader).
	Proto uint8

	// TTL is the IPv4 TTL or the IPv6 hop limit. IP field.
	TTL uint8

	// TOS is the IPv4 type of service or the IPv6 traffic class (DSCP and
	// ECN bits). IP field.
	TOS uint8

	// DontFrag is the IPv4 DF bit. IP field.
	DontFrag bool

	// Fragment reports that the packet is a fragment: IPv4 with MF set or a
	// non-zero offset, or IPv6 with a Fragment header (even an atomic one,
	// RFC 6946). IP field.
	Fragment bool

	// MoreFragments is the MF bit of IPv4 or of the IPv6 Fragment header.
	MoreFragments bool

	// IPID is the IPv4 identification. IP field.
	IPID uint16

	// FragOffset is the fragment offset in bytes. A non-zero offset means
	// the packet has no L4 header (L4Off == 0). IP field.
	FragOffset uint16

	// FragID is the IPv4 identification, or the IPv6 Fragment header's
	// identification (0 without one). IP field.
	FragID uint32

	// FlowLabel is the IPv6 flow label. IP field.
	FlowLabel uint32

	// SrcPort and DstPort are the ports of TCP, UDP, UDP-Lite, SCTP and
	// DCCP. L4 fields.
	SrcPort, DstPort uint16

	// TCPFlags are the TCP flags (TCPFin ... TCPCwr). L4 field, TCP only.
	TCPFlags uint8

	// Seq and Ack are the TCP sequence and acknowledgment numbers. Seq is
	// valid even in a truncated embedded packet; Ack only if the header is
	// complete. L4 fields, TCP only.
	Seq, Ack uint32

	// Window and Urgent are the TCP window and urgent pointer. L4 fields,
	// TCP only.
	Window, Urgent uint16

	// TCPOptions are the parsed TCP options. L4 field, TCP only.
	TCPOptions TCPOptions

	// ICMPType and ICMPCode are the ICMP or ICMPv6 type and code. L4
	// fields, ProtoICMP or ProtoICMPv6 only.
	ICMPType, ICMPCode uint8

	// ICMPID and ICMPSeq are the identifier and sequence number of ICMP
	// echo, timestamp, information, address mask and extended echo
	// messages, and of ICMPv6 echo, node information and extended echo
	// messages (the messages that conntrack tracks by id). Zero for other
	// types. L4 fields.
	ICMPID, ICMPSeq uint16

	// GREKey is the GRE key (RFC 2890); for PPTP's enhanced GRE (version 1,
	// RFC 2637) it is the payload length and call ID. Valid iff HasGREKey.
	GREKey uint32

	// HasGREKey reports that the GRE header carries a key. L4 field.
	HasGREKey bool

	// GREVersion is the GRE version: 0 (RFC 2784) or 1 (PPTP). L4 field.
	GREVersion uint8

	// GREProto is the GRE protocol type, an EtherType. L4 field.
	GREProto uint16

	// SPI is the security parameters index of ESP, or of AH (for IPv6, the
	// last AH header walked). Zero when there is neither.
	SPI uint32

	// SCTPVTag is the SCTP verification tag. L4 field, SCTP only.
	SCTPVTag uint32
}

// Decode parses b, which starts at the IP header, into p. It resets every
// field of p, never panics and never allocates. p keeps b: the caller must
// not reuse b while p is in use.
//
// Decode does not verify checksums; see [Packet.IPv4HeaderChecksumOK] and
// [Packet.L4ChecksumOK].
func (p *Packet) Decode(b []byte) { p.decode(b, false) }

// DecodeEmbedded parses b as the packet embedded in an ICMP or ICMPv6 error:
// like [Packet.Decode], but it tolerates a declared length longer than b and
// an L4 header cut after its first 8 bytes, setting Truncated instead of
// Invalid. The ports, ICMP id, or SPI are then still valid, which is all the
// kernel's conntrack reads from an embedded packet.
func (p *Packet) DecodeEmbedded(b []byte) { p.decode(b, true) }

func (p *Packet) decode(b []byte, embedded bool) {
	*p = Packet{b: b}
	if len(b) == 0 {
		p.Invalid = InvalidEmpty
		return
	}
	switch b[0] >> 4 {
	case 4:
		p.decode4(b, embedded)
	case 6:
		p.decode6(b, embedded)
	default:
		p.Invalid = InvalidVersion
	}
}

func (p *Packet) decode4(b []byte, embedded bool) {
	p.Family = IPv4
	if len(b) < ipv4MinHeaderLen {
		p.Invalid = InvalidIPv4Truncated
		return
	}
	// ip_rcv_core: IHL < 5 and total length < IHL are invalid. Options
	// are only checked to fit in the header.
	ihl := int(b[0]&0x0f) << 2
	if ihl < ipv4MinHeaderLen {
		p.Invalid = InvalidIPv4HeaderLength
		return
	}
	if len(b) < ihl {
		p.Invalid = InvalidIPv4Truncated
		return
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl {
		p.Invalid = InvalidIPv4TotalLength
		return
	}
	declared := total
	total, ok := p.clampHeader(total, len(b), embedded, 0, InvalidIPv4LengthExceedsPacket)
	if !ok {
		return
	}
	p.WireLength = declared
	p.Length = total
	p.TOS = b[1]
	p.TTL = b[8]
	p.Proto = b[9]
	id := binary.BigEndian.Uint16(b[4:6])
	p.IPID = id
	p.FragID = uint32(id)
	frag := binary.BigEndian.Uint16(b[6:8])
	p.DontFrag = frag&0x4000 != 0
	p.MoreFragments = frag&0x2000 != 0
	p.FragOffset = (frag & 0x1fff) << 3
	p.Fragment = p.MoreFragments || p.FragOffset != 0
	if p.FragOffset != 0 {
		// Only the first fragment carries the L4 header.
		p.PayloadOff = ihl
		return
	}
	if p.Proto == ProtoTCP {
		// The common case, without the dispatch of decodeL4.
		p.transportOff = ihl
		p.decodeTCP(b[ihl:total], ihl, embedded)
		return
	}
	p.decodeL4(b[:total], ihl, embedded)
}

// decodeL4 parses the L4 header of protocol p.Proto at off in b, which is
// trimmed to the IP length.
// clampHeader checks a header (or datagram) of hl bytes against the n
// bytes captured. If it runs past them, an outer packet is invalid for
// reason why; an embedded one, which an ICMP error may cut short, is
// marked Truncated and the length clamped to n, provided at least
// minEmbedded bytes are there. It returns the length to use, and false
// when the packet is invalid.
func (p *Packet) clampHeader(hl, n int, embedded bool, minEmbedded int, why Invalid) (int, bool) {
	if hl <= n {
		return hl, true
	}
	if !embedded || n < minEmbedded {
		p.Invalid = why
		return 0, false
	}
	p.Truncated = true
	return n, true
}

func (p *Packet) decodeL4(b []byte, off int, embedded bool) {
	p.transportOff = off
	l4 := b[off:]
	switch p.Proto {
	case ProtoTCP:
		p.decodeTCP(l4, off, embedded)
	case ProtoUDP, ProtoUDPLite:
		p.decodeUDP(l4, off, embedded)
	case ProtoICMP, ProtoICMPv6:
		p.decodeICMP(l4, off)
	case ProtoSCTP:
		p.decodeSCTP(l4, off, embedded)
	case ProtoDCCP:
		p.decodeDCCP(l4, off, embedded)
	case ProtoGRE:
		p.decodeGRE(l4, off, embedded)
	case ProtoESP:
		if len(l4) < espHeaderLen {
			p.Invalid = InvalidESPTruncated
			return
		}
		p.SPI = binary.BigEndian.Uint32(l4[0:4])
		p.L4Off = off
		p.PayloadOff = off + espHeaderLen
	case ProtoAH:
		// Only IPv4 gets here: IPv6 walks AH as an extension header.
		p.decodeAH(l4, off, embedded)
	default:
		p.L4Off = off
		p.PayloadOff = off
	}
}

func (p *Packet) decodeUDP(l4 []byte, off int, embedded bool) {
	if len(l4) < udpHeaderLen {
		p.Invalid = InvalidUDPTruncated
		return
	}
	n := int(binary.BigEndian.Uint16(l4[4:6]))
	if p.Proto == ProtoUDP {
		// udp_rcv and conntrack's udp_error: the length must cover the
		// header and fit in the packet; shorter is allowed (the rest is
		// trailing padding).
		if n < udpHeaderLen {
			p.Invalid = InvalidUDPLength
			return
		}
		if n > len(l4) {
			if !embedded {
				p.Invalid = InvalidUDPLength
				return
			}
			p.Truncated = true
		}
	} else if n != 0 && (n < udpHeaderLen || n > len(l4)) {
		// UDP-Lite's length field is the checksum coverage (RFC 3828
		// 3.1): 0 means everything, else at least the header.
		if !embedded || n < udpHeaderLen {
			p.Invalid = InvalidUDPLiteCoverage
			return
		}
		p.Truncated = true
	}
	p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	p.DstPort = binary.BigEndian.Uint16(l4[2:4])
	p.L4Off = off
	p.PayloadOff = off + udpHeaderLen
}

func (p *Packet) decodeICMP(l4 []byte, off int) {
	if len(l4) < icmpHeaderLen {
		if p.Proto == ProtoICMP {
			p.Invalid = InvalidICMPTruncated
		} else {
			p.Invalid = InvalidICMPv6Truncated
		}
		return
	}
	p.ICMPType = l4[0]
	p.ICMPCode = l4[1]
	if icmpHasID(p.Proto, p.ICMPType) {
		p.ICMPID = binary.BigEndian.Uint16(l4[4:6])
		p.ICMPSeq = binary.BigEndian.Uint16(l4[6:8])
	}
	p.L4Off = off
	p.PayloadOff = off + icmpHeaderLen
}

func (p *Packet) decodeSCTP(l4 []byte, off int, embedded bool) {
	if len(l4) < sctpHeaderLen {
		if !embedded || len(l4) < embeddedL4Min {
			p.Invalid = InvalidSCTPTruncated
			return
		}
		p.Truncated = true
	}
	p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	p.DstPort = binary.BigEndian.Uint16(l4[2:4])
	p.SCTPVTag = binary.BigEndian.Uint32(l4[4:8])
	p.L4Off = off
	p.PayloadOff = off + min(sctpHeaderLen, len(l4))
}

func (p *Packet) decodeDCCP(l4 []byte, off int, embedded bool) {
	if len(l4) < dccpMinHeaderLen {
		if !embedded || len(l4) < embeddedL4Min {
			p.Invalid = InvalidDCCPTruncated
			return
		}
		p.Truncated = true
		p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		p.DstPort = binary.BigEndian.Uint16(l4[2:4])
		p.L4Off = off
		p.PayloadOff = off + len(l4)
		return
	}
	// RFC 4340 5.1: with X set the generic header is 16 bytes, else 12.
	doff := int(l4[4]) << 2
	minLen := dccpMinHeaderLen
	if l4[8]&1 != 0 {
		minLen = 16
	}
	if doff < minLen {
		p.Invalid = InvalidDCCPDataOffset
		return
	}
	doff, ok := p.clampHeader(doff, len(l4), embedded, 0, InvalidDCCPDataOffset)
	if !ok {
		return
	}
	p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	p.DstPort = binary.BigEndian.Uint16(l4[2:4])
	p.L4Off = off
	p.PayloadOff = off + doff
}

// GRE flag bits in the first byte (RFC 1701, RFC 2784, RFC 2890) and the
// acknowledgment bit of PPTP's enhanced GRE in the second (RFC 2637).
const (
	greChecksum = 0x80
	greRouting  = 0x40
	greKey      = 0x20
	greSeq      = 0x10
	greAck      = 0x80
)

func (p *Packet) decodeGRE(l4 []byte, off int, embedded bool) {
	if len(l4) < 4 {
		p.Invalid = InvalidGRETruncated
		return
	}
	flags := l4[0]
	version := l4[1] & 0x07
	hl := 4
	keyOff := 0
	switch version {
	case 0:
		// RFC 2784 deprecates routing; ip_gre refuses it too, and without
		// walking the SREs the payload cannot be found.
		if flags&greRouting != 0 {
			p.Invalid = InvalidGREHeader
			return
		}
		if flags&greChecksum != 0 {
			hl += 4
		}
		if flags&greKey != 0 {
			keyOff = hl
			hl += 4
		}
		if flags&greSeq != 0 {
			hl += 4
		}
	case 1:
		// PPTP (RFC 2637 4.1): no checksum or routing, key always present
		// (payload length and call ID), optional sequence and ack numbers.
		if flags&(greChecksum|greRouting) != 0 || flags&greKey == 0 {
			p.Invalid = InvalidGREHeader
			return
		}
		keyOff = 4
		hl = 8
		if flags&greSeq != 0 {
			hl += 4
		}
		if l4[1]&greAck != 0 {
			hl += 4
		}
	default:
		p.Invalid = InvalidGREHeader
		return
	}
	hl, ok := p.clampHeader(hl, len(l4), embedded, embeddedL4Min, InvalidGRETruncated)
	if !ok {
		return
	}
	if keyOff != 0 && keyOff+4 <= len(l4) {
		p.HasGREKey = true
		p.GREKey = binary.BigEndian.Uint32(l4[keyOff : keyOff+4])
	}
	p.GREVersion = version
	p.GREProto = binary.BigEndian.Uint16(l4[2:4])
	p.L4Off = off
	p.PayloadOff = off + hl
}

func (p *Packet) decodeAH(l4 []byte, off int, embedded bool) {
	if len(l4) < embeddedL4Min {
		p.Invalid = InvalidAHTruncated
		return
	}
	// RFC 4302 2.2: the payload length is in 4-byte units, minus 2.
	hl := (int(l4[1]) + 2) << 2
	if hl < ahMinHeaderLen {
		p.Invalid = InvalidAHLength
		return
	}
	hl, ok := p.clampHeader(hl, len(l4), embedded, 0, InvalidAHTruncated)
	if !ok {
		return
	}
	p.SPI = binary.BigEndian.Uint32(l4[4:8])
	p.L4Off = off
	p.PayloadOff = off + hl
}

// Bytes returns the packet, trimmed to Length: without bytes beyond the IP
// total length such as Ethernet padding. It is empty when the IP header
// failed to parse.
func (p *Packet) Bytes() []byte { return p.b[:p.Length] }

// Src returns the source address. It does not allocate. It is the zero Addr
// when the buffer is too short to hold the address.
func (p *Packet) Src() netip.Addr {
	switch p.Family {
	case IPv4:
		if len(p.b) >= ipv4MinHeaderLen {
			return netip.AddrFrom4([4]byte(p.b[12:16]))
		}
	case IPv6:
		if len(p.b) >= ipv6HeaderLen {
			return netip.AddrFrom16([16]byte(p.b[8:24]))
		}
	}
	return netip.Addr{}
}

// Dst returns the destination address. It does not allocate. It is the zero
// Addr when the buffer is too short to hold the address.
func (p *Packet) Dst() netip.Addr {
	switch p.Family {
	case IPv4:
		if len(p.b) >= ipv4MinHeaderLen {
			return netip.AddrFrom4([4]byte(p.b[16:20]))
		}
	case IPv6:
		if len(p.b) >= ipv6HeaderLen {
			return netip.AddrFrom16([16]byte(p.b[24:40]))
		}
	}
	return netip.Addr{}
}

// TransportHeader returns the bytes from the start of the transport
// header to the end of the packet, even when that header is truncated or
// inconsistent (L4Off == 0 with an L4 Invalid reason): what the kernel's
// matches and nft payload expressions read with skb_header_pointer, which
// only need the bytes they load. It is nil for a non-first fragment and
// when the IP header itself is bad.
func (p *Packet) TransportHeader() []byte {
	if p.transportOff == 0 || p.transportOff > p.Length || p.Length > len(p.b) {
		return nil
	}
	return p.b[p.transportOff:p.Length]
}

// L4 returns the L4 header and payload, nil if there is no L4 header
// (L4Off == 0).
func (p *Packet) L4() []byte {
	if p.L4Off == 0 {
		return nil
	}
	return p.b[p.L4Off:p.Length]
}

// Payload returns the L4 payload: the bytes after the TCP, UDP, ICMP, ...
// header, up to Length (for UDP, up to the UDP length, which may be
// shorter). For a non-first fragment it is the fragment's data. It is nil
// when the headers failed to parse.
func (p *Packet) Payload() []byte {
	if p.PayloadOff == 0 {
		return nil
	}
	end := p.Length
	if p.Proto == ProtoUDP && p.L4Off != 0 {
		if n := p.L4Off + int(binary.BigEndian.Uint16(p.b[p.L4Off+4:p.L4Off+6])); n < end {
			end = n
		}
	}
	return p.b[p.PayloadOff:end]
}

// ipHeaderLen returns the length of the IPv4 header, options included, or
// 40 for IPv6. Valid iff Length != 0.
func (p *Packet) ipHeaderLen() int {
	if p.Family == IPv4 {
		return int(p.b[0]&0x0f) << 2
	}
	return ipv6HeaderLen
}
