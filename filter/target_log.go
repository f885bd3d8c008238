package filter

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// LogFlags are the LOG target's --log-* switches, with the kernel's
// XT_LOG_* / NF_LOG_* bit values.
type LogFlags uint8

// The LOG flags.
const (
	// LogTCPSeq prints the TCP sequence and acknowledgment numbers
	// (--log-tcp-sequence).
	LogTCPSeq LogFlags = 0x01
	// LogTCPOpt prints the TCP options in hex (--log-tcp-options).
	LogTCPOpt LogFlags = 0x02
	// LogIPOpt prints the IPv4 options or IPv6 extension headers
	// (--log-ip-options).
	LogIPOpt LogFlags = 0x04
	// LogUID prints the owning socket's UID and GID (--log-uid). nfgo has
	// no sockets, so, like the kernel for a packet without a full
	// socket, it prints nothing.
	LogUID LogFlags = 0x08
	// LogMACDecode decodes the Ethernet header into MACSRC=, MACDST= and
	// MACPROTO= instead of the raw MAC= dump (--log-macdecode).
	LogMACDecode LogFlags = 0x20
)

// Syslog levels, as --log-level takes them.
const (
	LogEmerg uint8 = iota
	LogAlert
	LogCrit
	LogErr
	LogWarning
	LogNotice
	LogInfo
	LogDebug
)

// LogTarget is -j LOG: it writes a line describing the packet in the
// kernel's format (nf_log_syslog.c) and lets the traversal continue.
type LogTarget struct {
	// Prefix starts the line (--log-prefix, at most 29 bytes).
	Prefix string
	// Level is the syslog level, LogEmerg (0) to LogDebug (7); the
	// default is LogWarning (4).
	Level uint8
	// Flags are the --log-* switches.
	Flags LogFlags
}

// Name returns "LOG".
func (*LogTarget) Name() string { return "LOG" }

// Do emits the packet's log line (EffectLog) and logs it through c.Logger
// (slog.Default() when nil). Logging allocates: it is the slow path, as in
// the kernel, where it takes a global lock and writes to the console.
func (t *LogTarget) Do(c *Context) Verdict {
	line := LogLine(c, t.Prefix, t.Flags)
	c.Emit(Effect{Kind: EffectLog, Text: line})
	l := c.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), SyslogLevel(t.Level), line, slog.Int("syslog_level", int(t.Level)))
	return Verdict{Action: Continue}
}

// SyslogLevel maps a syslog level to the slog level nearest in meaning:
// emerg, alert, crit and err to Error; warning to Warn; notice and info to
// Info; debug to Debug.
func SyslogLevel(level uint8) slog.Level {
	switch {
	case level <= LogErr:
		return slog.LevelError
	case level == LogWarning:
		return slog.LevelWarn
	case level <= LogInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// LogLine formats the packet in c as the kernel's LOG target does
// (nf_log_ip_packet / nf_log_ip6_packet): the prefix, IN= and OUT=, the
// link-layer header when the packet came in on an interface, then the IP
// header, the transport header and MARK=. The line ends with a space, as
// the kernel's does.
func LogLine(c *Context, prefix string, flags LogFlags) string {
	var b strings.Builder
	b.WriteString(prefix)
	fmt.Fprintf(&b, "IN=%s OUT=%s ", c.In, c.Out)
	if c.In != "" {
		logMAC(&b, c.LinkHeader, flags)
	}
	p := c.Packet
	if p == nil {
		b.WriteString("TRUNCATED")
		return b.String()
	}
	l := logger{b: &b, pkt: p.Bytes(), flags: flags, mark: c.Mark}
	if p.Family == packet.IPv6 {
		l.ipv6(0, true)
	} else {
		l.ipv4(0)
	}
	return b.String()
}

// logMAC follows dump_mac_header. nfgo does not know the device type, so a
// link header of at least 14 bytes is taken to be Ethernet for
// --log-macdecode; anything else is printed raw.
func logMAC(b *strings.Builder, h []byte, flags LogFlags) {
	if flags&LogMACDecode != 0 && len(h) >= 14 {
		fmt.Fprintf(b, "MACSRC=%s MACDST=%s MACPROTO=%04x ", macString(h[6:12]), macString(h[0:6]), binary.BigEndian.Uint16(h[12:14]))
		return
	}
	b.WriteString("MAC=")
	for i, x := range h {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(b, "%02x", x)
	}
	b.WriteByte(' ')
}

func macString(m []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// logger walks the raw packet as the kernel's dump functions do, with
// skb_header_pointer's bounds: a header that does not fit in the bytes
// left is reported as INCOMPLETE or TRUNCATED.
type logger struct {
	b     *strings.Builder
	pkt   []byte
	flags LogFlags
	mark  uint32
}

// header returns n bytes at off, or nil if the packet is shorter.
func (l *logger) header(off, n int) []byte {
	if off < 0 || n < 0 || off+n > len(l.pkt) {
		return nil
	}
	return l.pkt[off : off+n]
}

func (l *logger) printf(format string, a ...any) { fmt.Fprintf(l.b, format, a...) }

// ICMP types dump_ipv4_packet knows.
const (
	icmpEchoReply      = 0
	icmpSourceQuench   = 4
	icmpRedirect       = 5
	icmpEcho           = 8
	icmpTimeExceeded   = 11
	icmpParameterProb  = 12
	icmpTimestamp      = 13
	icmpTimestampReply = 14
	icmpAddress        = 17
	icmpAddressReply   = 18
	nrICMPTypes        = 18
	icmpFragNeeded     = 4 // code of destination unreachable
)

// icmpRequiredLen is dump_ipv4_packet's required_len: how many bytes of
// ICMP message a type needs before its fields are printed.
var icmpRequiredLen = [nrICMPTypes + 1]int{
	icmpEchoReply:      4,
	icmpDestUnreach:    8 + 20,
	icmpSourceQuench:   8 + 20,
	icmpRedirect:       8 + 20,
	icmpEcho:           4,
	icmpTimeExceeded:   8 + 20,
	icmpParameterProb:  8 + 20,
	icmpTimestamp:      20,
	icmpTimestampReply: 20,
	icmpAddress:        12,
	icmpAddressReply:   12,
}

// ipv4 is dump_ipv4_packet; off is the IP header's offset (0, or inside an
// ICMP error for the one level of recursion).
func (l *logger) ipv4(off int) {
	ih := l.header(off, 20)
	if ih == nil {
		l.b.WriteString("TRUNCATED")
		return
	}
	src := netip.AddrFrom4([4]byte(ih[12:16]))
	dst := netip.AddrFrom4([4]byte(ih[16:20]))
	l.printf("SRC=%s DST=%s ", src, dst)
	tos := ih[1]
	l.printf("LEN=%d TOS=0x%02X PREC=0x%02X TTL=%d ID=%d ",
		binary.BigEndian.Uint16(ih[2:4]), tos&0x1e, tos&0xe0, ih[8], binary.BigEndian.Uint16(ih[4:6]))
	frag := binary.BigEndian.Uint16(ih[6:8])
	if frag&0x8000 != 0 {
		l.b.WriteString("CE ")
	}
	if frag&0x4000 != 0 {
		l.b.WriteString("DF ")
	}
	if frag&0x2000 != 0 {
		l.b.WriteString("MF ")
	}
	fragOff := frag & 0x1fff
	if fragOff != 0 {
		l.printf("FRAG:%d ", fragOff)
	}
	ihl := int(ih[0]&0x0f) * 4
	if l.flags&LogIPOpt != 0 && ihl > 20 {
		op := l.header(off+20, ihl-20)
		if op == nil {
			l.b.WriteString("TRUNCATED")
			return
		}
		l.hexOpts(op)
	}
	l4 := off + ihl
	proto := ih[9]
	switch proto {
	case packet.ProtoTCP:
		if l.tcp(fragOff != 0, l4) {
			return
		}
	case packet.ProtoUDP, packet.ProtoUDPLite:
		if l.udp(proto, fragOff != 0, l4) {
			return
		}
	case packet.ProtoICMP:
		l.icmp(off, l4, fragOff != 0)
	case packet.ProtoAH:
		if fragOff != 0 {
			break
		}
		l.b.WriteString("PROTO=AH ")
		ah := l.header(l4, 12)
		if ah == nil {
			l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-l4)
			break
		}
		l.printf("SPI=0x%x ", binary.BigEndian.Uint32(ah[4:8]))
	case packet.ProtoESP:
		l.b.WriteString("PROTO=ESP ")
		if fragOff != 0 {
			break
		}
		eh := l.header(l4, 8)
		if eh == nil {
			l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-l4)
			break
		}
		l.printf("SPI=0x%x ", binary.BigEndian.Uint32(eh[0:4]))
	default:
		l.printf("PROTO=%d ", proto)
	}
	if off == 0 && l.mark != 0 {
		l.printf("MARK=0x%x ", l.mark)
	}
}

// icmp is the ICMP case of dump_ipv4_packet.
func (l *logger) icmp(ipOff, l4 int, fragment bool) {
	l.b.WriteString("PROTO=ICMP ")
	if fragment {
		return
	}
	ich := l.header(l4, 8)
	if ich == nil {
		l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-l4)
		return
	}
	typ, code := ich[0], ich[1]
	l.printf("TYPE=%d CODE=%d ", typ, code)
	if typ <= nrICMPTypes && icmpRequiredLen[typ] != 0 && len(l.pkt)-l4 < icmpRequiredLen[typ] {
		l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-l4)
		return
	}
	switch typ {
	case icmpEchoReply, icmpEcho:
		l.printf("ID=%d SEQ=%d ", binary.BigEndian.Uint16(ich[4:6]), binary.BigEndian.Uint16(ich[6:8]))
	case icmpParameterProb:
		l.printf("PARAMETER=%d ", ich[4])
	case icmpRedirect, icmpDestUnreach, icmpSourceQuench, icmpTimeExceeded:
		if typ == icmpRedirect {
			l.printf("GATEWAY=%s ", netip.AddrFrom4([4]byte(ich[4:8])))
		}
		if ipOff == 0 { // only recurse once
			l.b.WriteString("[")
			l.ipv4(l4 + 8)
			l.b.WriteString("] ")
		}
		if typ == icmpDestUnreach && code == icmpFragNeeded {
			l.printf("MTU=%d ", binary.BigEndian.Uint16(ich[6:8]))
		}
	}
}

// tcp is nf_log_dump_tcp_header; it reports true when the dump must stop
// there (the header is cut short).
func (l *logger) tcp(fragment bool, off int) bool {
	l.b.WriteString("PROTO=TCP ")
	if fragment {
		return false
	}
	th := l.header(off, 20)
	if th == nil {
		l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-off)
		return true
	}
	l.printf("SPT=%d DPT=%d ", binary.BigEndian.Uint16(th[0:2]), binary.BigEndian.Uint16(th[2:4]))
	if l.flags&LogTCPSeq != 0 {
		l.printf("SEQ=%d ACK=%d ", binary.BigEndian.Uint32(th[4:8]), binary.BigEndian.Uint32(th[8:12]))
	}
	l.printf("WINDOW=%d ", binary.BigEndian.Uint16(th[14:16]))
	// TCP_RESERVED_BITS is 0x0E000000 of the flag word (the fourth bit
	// became AE, RFC 9768) and the kernel prints it shifted right by 22:
	// the three reserved bits of byte 12, shifted left by 2.
	l.printf("RES=0x%02x ", (th[12]&0x0e)<<2)
	flags := th[13]
	if th[12]&0x01 != 0 {
		l.b.WriteString("AE ")
	}
	for _, f := range [...]struct {
		bit  uint8
		name string
	}{{packet.TCPCwr, "CWR "}, {packet.TCPEce, "ECE "}, {packet.TCPUrg, "URG "}, {packet.TCPAck, "ACK "},
		{packet.TCPPsh, "PSH "}, {packet.TCPRst, "RST "}, {packet.TCPSyn, "SYN "}, {packet.TCPFin, "FIN "}} {
		if flags&f.bit != 0 {
			l.b.WriteString(f.name)
		}
	}
	l.printf("URGP=%d ", binary.BigEndian.Uint16(th[18:20]))
	doff := int(th[12]>>4) * 4
	if l.flags&LogTCPOpt != 0 && doff > 20 {
		op := l.header(off+20, doff-20)
		if op == nil {
			l.b.WriteString("OPT (TRUNCATED)")
			return true
		}
		l.hexOpts(op)
	}
	return false
}

// hexOpts prints options as the kernel does: "OPT (" upper-case hex ") ".
func (l *logger) hexOpts(op []byte) {
	l.b.WriteString("OPT (")
	for _, x := range op {
		l.printf("%02X", x)
	}
	l.b.WriteString(") ")
}

// udp is nf_log_dump_udp_header.
func (l *logger) udp(proto uint8, fragment bool, off int) bool {
	if proto == packet.ProtoUDP {
		l.b.WriteString("PROTO=UDP ")
	} else {
		l.b.WriteString("PROTO=UDPLITE ")
	}
	if fragment {
		return false
	}
	uh := l.header(off, 8)
	if uh == nil {
		l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-off)
		return true
	}
	l.printf("SPT=%d DPT=%d LEN=%d ", binary.BigEndian.Uint16(uh[0:2]), binary.BigEndian.Uint16(uh[2:4]), binary.BigEndian.Uint16(uh[4:6]))
	return false
}

// ICMPv6 types dump_ipv6_packet knows.
const (
	icmp6PktTooBig    = 2
	icmp6TimeExceed   = 3
	icmp6ParamProb    = 4
	icmp6EchoRequest  = 128
	icmp6EchoReply    = 129
	icmp6MGMQuery     = 130
	icmp6MGMReport    = 131
	icmp6MGMReduction = 132
)

// ipv6 is dump_ipv6_packet; recurse is true for the outer packet.
func (l *logger) ipv6(off int, recurse bool) {
	ih := l.header(off, 40)
	if ih == nil {
		l.b.WriteString("TRUNCATED")
		return
	}
	l.printf("SRC=%s DST=%s ", ipv6Full(ih[8:24]), ipv6Full(ih[24:40]))
	w := binary.BigEndian.Uint32(ih[0:4])
	l.printf("LEN=%d TC=%d HOPLIMIT=%d FLOWLBL=%d ",
		int(binary.BigEndian.Uint16(ih[4:6]))+40, (w&0x0ff00000)>>20, ih[7], w&0x000fffff)
	fragment := false
	ptr := off + 40
	cur := ih[6]
	ipopt := l.flags&LogIPOpt != 0
	for cur != packet.ProtoNoNextHeader && ipv6ExtHdr(cur) {
		hp := l.header(ptr, 2)
		if hp == nil {
			l.b.WriteString("TRUNCATED")
			return
		}
		if ipopt {
			l.b.WriteString("OPT ( ")
		}
		var hdrlen int
		switch cur {
		case packet.ProtoFragment:
			l.b.WriteString("FRAG:")
			fh := l.header(ptr, 8)
			if fh == nil {
				l.b.WriteString("TRUNCATED ")
				return
			}
			fo := binary.BigEndian.Uint16(fh[2:4])
			l.printf("%d ", fo&0xfff8)
			if fo&0x0001 != 0 {
				l.b.WriteString("INCOMPLETE ")
			}
			l.printf("ID:%08x ", binary.BigEndian.Uint32(fh[4:8]))
			if fo&0xfff8 != 0 {
				fragment = true
			}
			hdrlen = 8
		case packet.ProtoDestOpts, packet.ProtoRouting, packet.ProtoHopByHop:
			if fragment {
				if ipopt {
					l.b.WriteString(")")
				}
				return
			}
			hdrlen = (int(hp[1]) + 1) << 3
		case packet.ProtoAH:
			if ipopt {
				l.b.WriteString("AH ")
				if fragment {
					l.b.WriteString(")")
					return
				}
				ah := l.header(ptr, 12)
				if ah == nil {
					l.printf("INCOMPLETE [%d bytes] )", len(l.pkt)-ptr)
					return
				}
				l.printf("SPI=0x%x ", binary.BigEndian.Uint32(ah[4:8]))
			}
			hdrlen = (int(hp[1]) + 2) << 2
		case packet.ProtoESP:
			if ipopt {
				l.b.WriteString("ESP ")
				if fragment {
					l.b.WriteString(")")
					return
				}
				eh := l.header(ptr, 8)
				if eh == nil {
					l.printf("INCOMPLETE [%d bytes] )", len(l.pkt)-ptr)
					return
				}
				l.printf("SPI=0x%x )", binary.BigEndian.Uint32(eh[0:4]))
			}
			return
		}
		if ipopt {
			l.b.WriteString(") ")
		}
		cur = hp[0]
		ptr += hdrlen
	}
	switch cur {
	case packet.ProtoTCP:
		if l.tcp(fragment, ptr) {
			return
		}
	case packet.ProtoUDP, packet.ProtoUDPLite:
		if l.udp(cur, fragment, ptr) {
			return
		}
	case packet.ProtoICMPv6:
		l.b.WriteString("PROTO=ICMPv6 ")
		if fragment {
			break
		}
		ic := l.header(ptr, 8)
		if ic == nil {
			l.printf("INCOMPLETE [%d bytes] ", len(l.pkt)-ptr)
			return
		}
		typ := ic[0]
		l.printf("TYPE=%d CODE=%d ", typ, ic[1])
		switch typ {
		case icmp6EchoRequest, icmp6EchoReply:
			l.printf("ID=%d SEQ=%d ", binary.BigEndian.Uint16(ic[4:6]), binary.BigEndian.Uint16(ic[6:8]))
		case icmp6MGMQuery, icmp6MGMReport, icmp6MGMReduction:
		case icmp6ParamProb, icmp6DestUnreach, icmp6PktTooBig, icmp6TimeExceed:
			if typ == icmp6ParamProb {
				l.printf("POINTER=%08x ", binary.BigEndian.Uint32(ic[4:8]))
			}
			if recurse {
				l.b.WriteString("[")
				l.ipv6(ptr+8, false)
				l.b.WriteString("] ")
			}
			if typ == icmp6PktTooBig {
				l.printf("MTU=%d ", binary.BigEndian.Uint32(ic[4:8]))
			}
		}
	default:
		l.printf("PROTO=%d ", cur)
	}
	if recurse && l.mark != 0 {
		l.printf("MARK=0x%x ", l.mark)
	}
}

// ipv6ExtHdr is nf_ip6_ext_hdr: the headers dump_ipv6_packet walks.
func ipv6ExtHdr(h uint8) bool {
	switch h {
	case packet.ProtoHopByHop, packet.ProtoRouting, packet.ProtoFragment,
		packet.ProtoESP, packet.ProtoAH, packet.ProtoNoNextHeader, packet.ProtoDestOpts:
		return true
	}
	return false
}

// ipv6Full prints an IPv6 address as the kernel's %pI6 does: eight groups
// of four hex digits, nothing compressed.
func ipv6Full(a []byte) string {
	var b strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x%02x", a[i], a[i+1])
	}
	return b.String()
}
