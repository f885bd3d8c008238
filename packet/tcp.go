package packet

import "encoding/binary"

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	TCPOptionEnd           = 0
	TCPOptionNOP           = 1
	TCPOptionMSS           = 2
	TCPOptionWindowScale   = 3
	TCPOptionSACKPermitted = 4
	TCPOptionSACK          = 5
	TCPOptionTimestamps    = 8
)

// SACKBlock is one block of a SACK option (RFC 2018): the sequence numbers
// of the first byte received and of the byte after the last.
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions are the TCP options that conntrack and the TCPMSS target look
// at. They are parsed from every TCP packet, SYN or not: whether an option
// counts (window scaling only on SYN, for instance) is for the caller to
// decide.
//
// An option whose length is wrong for its kind is skipped, as the kernel's
// tcp_parse_options skips it.
type TCPOptions struct {
	// MSS is the maximum segment size (RFC 9293), valid iff HasMSS. If
	// there are several MSS options, the first counts, as in xt_TCPMSS.
	MSS    uint16
	HasMSS bool

	// WScale is the window scale shift (RFC 7323) as sent, valid iff
	// HasWScale. Values above 14 are not clamped.
	WScale    uint8
	HasWScale bool

	// SACKPermitted reports the SACK-permitted option (RFC 2018).
	SACKPermitted bool

	// HasTimestamps reports the timestamps option (RFC 7323), whose values
	// are TSVal and TSEcr.
	HasTimestamps bool

	// Malformed reports that the options area ended in a broken option (a
	// length below 2 or past the header); the options before it are valid.
	Malformed bool

	// NumSACK is the number of valid entries in SACKBlocks; at most 4 are
	// kept (with timestamps, at most 3 fit in a header).
	NumSACK    int
	SACKBlocks [4]SACKBlock

	TSVal, TSEcr uint32
}

func (p *Packet) decodeTCP(l4 []byte, off int, embedded bool) {
	if len(l4) < tcpMinHeaderLen {
		if !embedded || len(l4) < embeddedL4Min {
			p.Invalid = InvalidTCPTruncated
			return
		}
		// RFC 792: an ICMP error may carry only the first 8 bytes.
		p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		p.DstPort = binary.BigEndian.Uint16(l4[2:4])
		p.Seq = binary.BigEndian.Uint32(l4[4:8])
		p.Truncated = true
		p.L4Off = off
		p.PayloadOff = off + len(l4)
		return
	}
	h := l4[:tcpMinHeaderLen:tcpMinHeaderLen]
	doff := int(h[12]>>4) << 2
	if doff < tcpMinHeaderLen {
		p.Invalid = InvalidTCPDataOffset
		return
	}
	doff, ok := p.clampHeader(doff, len(l4), embedded, 0, InvalidTCPDataOffset)
	if !ok {
		return
	}
	p.SrcPort = binary.BigEndian.Uint16(h[0:2])
	p.DstPort = binary.BigEndian.Uint16(h[2:4])
	p.Seq = binary.BigEndian.Uint32(h[4:8])
	p.Ack = binary.BigEndian.Uint32(h[8:12])
	p.TCPFlags = h[13]
	p.Window = binary.BigEndian.Uint16(h[14:16])
	p.Urgent = binary.BigEndian.Uint16(h[18:20])
	p.L4Off = off
	p.PayloadOff = off + doff
	if doff > tcpMinHeaderLen {
		opts := l4[tcpMinHeaderLen:doff]
		// Linux aligns the timestamps option behind two NOPs (RFC 7323
		// appendix A) on every segment of a connection that uses it; like
		// the kernel's tcp_fast_parse_options, read that layout directly.
		if len(opts) == tcpAlignedTSLen && binary.BigEndian.Uint32(opts[0:4]) == tcpAlignedTSPrefix {
			p.TCPOptions.HasTimestamps = true
			p.TCPOptions.TSVal = binary.BigEndian.Uint32(opts[4:8])
			p.TCPOptions.TSEcr = binary.BigEndian.Uint32(opts[8:12])
			return
		}
		p.TCPOptions.parse(opts)
	}
}

// NOP, NOP, timestamps kind and length: the aligned timestamps option.
const (
	tcpAlignedTSPrefix = TCPOptionNOP<<24 | TCPOptionNOP<<16 | TCPOptionTimestamps<<8 | 10
	tcpAlignedTSLen    = 12
)

// parse reads the options area of a TCP header. It walks the options as
// tcp_parse_options does: End stops, NOP is one byte, anything else is
// kind, length, value.
func (o *TCPOptions) parse(opts []byte) {
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == TCPOptionEnd {
			return
		}
		if kind == TCPOptionNOP {
			i++
			continue
		}
		if i+1 >= len(opts) {
			o.Malformed = true
			return
		}
		n := int(opts[i+1])
		if n < 2 || n > len(opts)-i {
			o.Malformed = true
			return
		}
		v := opts[i+2 : i+n]
		switch kind {
		case TCPOptionMSS:
			if n == 4 && !o.HasMSS {
				o.HasMSS = true
				o.MSS = binary.BigEndian.Uint16(v)
			}
		case TCPOptionWindowScale:
			if n == 3 {
				o.HasWScale = true
				o.WScale = v[0]
			}
		case TCPOptionSACKPermitted:
			if n == 2 {
				o.SACKPermitted = true
			}
		case TCPOptionSACK:
			if (n-2)%8 == 0 {
				for ; len(v) >= 8 && o.NumSACK < len(o.SACKBlocks); v = v[8:] {
					o.SACKBlocks[o.NumSACK] = SACKBlock{
						Left:  binary.BigEndian.Uint32(v[0:4]),
						Right: binary.BigEndian.Uint32(v[4:8]),
					}
					o.NumSACK++
				}
			}
		case TCPOptionTimestamps:
			if n == 10 {
				o.HasTimestamps = true
				o.TSVal = binary.BigEndian.Uint32(v[0:4])
				o.TSEcr = binary.BigEndian.Uint32(v[4:8])
			}
		}
		i += n
	}
}

// tcpOptionsArea returns the options of the TCP header, as much of them as
// the packet holds, or nil if p has no TCP header.
func (p *Packet) tcpOptionsArea() []byte {
	if p.L4Off == 0 || p.Proto != ProtoTCP {
		return nil
	}
	l4 := p.b[p.L4Off:p.Length]
	if len(l4) < tcpMinHeaderLen {
		return nil
	}
	end := min(int(l4[12]>>4)<<2, len(l4))
	if end < tcpMinHeaderLen {
		return nil
	}
	return l4[tcpMinHeaderLen:end]
}

// HasTCPOption reports whether the TCP header carries an option of the given
// kind, for iptables' "-p tcp --tcp-option". It scans as xt_tcpudp's
// tcp_find_option does: it does not stop at End (so kinds 0 and 1 are found
// too), and a zero length byte advances by one.
func (p *Packet) HasTCPOption(kind uint8) bool {
	opts := p.tcpOptionsArea()
	for i := 0; i < len(opts); {
		if opts[i] == kind {
			return true
		}
		if opts[i] < 2 || i+1 >= len(opts) {
			i++
			continue
		}
		i += max(int(opts[i+1]), 1)
	}
	return false
}

// mssOffset returns the offset in p.b of the value of the first
// well-formed MSS option, or 0 if there is none.
func (p *Packet) mssOffset() int {
	opts := p.tcpOptionsArea()
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == TCPOptionEnd {
			return 0
		}
		if kind == TCPOptionNOP {
			i++
			continue
		}
		if i+1 >= len(opts) {
			return 0
		}
		n := int(opts[i+1])
		if n < 2 || n > len(opts)-i {
			return 0
		}
		if kind == TCPOptionMSS && n == 4 {
			return p.L4Off + tcpMinHeaderLen + i + 2
		}
		i += n
	}
	return 0
}
