package packet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Addresses from the documentation ranges (RFC 5737, RFC 3849).
var (
	addrA4 = netip.MustParseAddr("192.0.2.1")
	addrB4 = netip.MustParseAddr("198.51.100.2")
	addrR4 = netip.MustParseAddr("203.0.113.9") // a router that sends ICMP errors
	addrN4 = netip.MustParseAddr("192.0.2.77")  // a NAT address

	addrA6 = netip.MustParseAddr("2001:db8::1")
	addrB6 = netip.MustParseAddr("2001:db8:1::2")
	addrR6 = netip.MustParseAddr("2001:db8:ffff::9")
	addrN6 = netip.MustParseAddr("2001:db8:77::77")
)

// flow is the addresses and ports of a test packet; the family follows src.
type flow struct {
	src, dst     netip.Addr
	sport, dport uint16
}

var (
	flow4 = flow{addrA4, addrB4, 40000, 80}
	flow6 = flow{addrA6, addrB6, 40000, 443}
)

func netIP(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

func newIPv4(proto layers.IPProtocol, src, dst netip.Addr) *layers.IPv4 {
	return &layers.IPv4{
		Version: 4, TOS: 0x10, Id: 0x1234, Flags: layers.IPv4DontFragment, TTL: 64,
		Protocol: proto, SrcIP: netIP(src), DstIP: netIP(dst),
	}
}

func newIPv6(next layers.IPProtocol, src, dst netip.Addr) *layers.IPv6 {
	return &layers.IPv6{
		Version: 6, TrafficClass: 0x28, FlowLabel: 0x12345, HopLimit: 64,
		NextHeader: next, SrcIP: netIP(src), DstIP: netIP(dst),
	}
}

// newIP returns an IPv4 or IPv6 layer for f's family.
func newIP(f flow, proto layers.IPProtocol) gopacket.SerializableLayer {
	if f.src.Is4() {
		return newIPv4(proto, f.src, f.dst)
	}
	return newIPv6(proto, f.src, f.dst)
}

// build serializes ls with gopacket, fixing lengths and computing checksums:
// the independent implementation that this package's results are checked
// against.
func build(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	type checksummer interface {
		SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
	}
	var nl gopacket.NetworkLayer
	for _, l := range ls {
		if n, ok := l.(gopacket.NetworkLayer); ok {
			nl = n
		}
		if c, ok := l.(checksummer); ok && nl != nil {
			if err := c.SetNetworkLayerForChecksum(nl); err != nil {
				tb.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// tsOption is a TCP timestamps option.
func tsOption(val, ecr uint32) layers.TCPOption {
	d := make([]byte, 8)
	binary.BigEndian.PutUint32(d[0:4], val)
	binary.BigEndian.PutUint32(d[4:8], ecr)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionData: d}
}

var nop = layers.TCPOption{OptionType: layers.TCPOptionKindNop}

func mssOption(mss uint16) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionData: binary.BigEndian.AppendUint16(nil, mss)}
}

// buildTCPSYN is a SYN with MSS 1460, SACK permitted, timestamps and window
// scale 7, as Linux sends it.
func buildTCPSYN(tb testing.TB, f flow) []byte {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport),
		Seq: 1000, SYN: true, Window: 64240,
		Options: []layers.TCPOption{
			mssOption(1460),
			{OptionType: layers.TCPOptionKindSACKPermitted},
			tsOption(111, 0),
			nop,
			{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{7}},
		},
	}
	return build(tb, newIP(f, layers.IPProtocolTCP), tcp)
}

// buildTCPData is an ACK|PSH segment with the timestamps option and a
// 100-byte payload: 152 bytes over IPv4, the benchmark packet.
func buildTCPData(tb testing.TB, f flow) []byte {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport),
		Seq: 5000, Ack: 7000, ACK: true, PSH: true, Window: 502,
		Options: []layers.TCPOption{nop, nop, tsOption(0x01020304, 0x05060708)},
	}
	return build(tb, newIP(f, layers.IPProtocolTCP), tcp, gopacket.Payload(seqBytes(100)))
}

func buildUDP(tb testing.TB, f flow, payload []byte) []byte {
	udp := &layers.UDP{SrcPort: layers.UDPPort(f.sport), DstPort: layers.UDPPort(f.dport)}
	return build(tb, newIP(f, layers.IPProtocolUDP), udp, gopacket.Payload(payload))
}

func buildICMPEcho(tb testing.TB, f flow, id, seq uint16) []byte {
	if f.src.Is4() {
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMPEcho, 0), Id: id, Seq: seq}
		return build(tb, newIP(f, layers.IPProtocolICMPv4), icmp, gopacket.Payload("ping"))
	}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(ICMPv6EchoRequest, 0)}
	echo := &layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}
	return build(tb, newIP(f, layers.IPProtocolICMPv6), icmp, echo, gopacket.Payload("ping"))
}

// buildICMPError is the ICMP or ICMPv6 destination unreachable (port) that
// router r sends to the source of inner, quoting inner.
func buildICMPError(tb testing.TB, r netip.Addr, inner []byte) []byte {
	var p Packet
	p.Decode(inner)
	if r.Is4() {
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMPDestUnreach, 3)}
		return build(tb, newIPv4(layers.IPProtocolICMPv4, r, p.Src()), icmp, gopacket.Payload(inner))
	}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(ICMPv6DestUnreach, 4)}
	return build(tb, newIPv6(layers.IPProtocolICMPv6, r, p.Src()), icmp, gopacket.Payload(append(make([]byte, 4), inner...)))
}

// ipv6ExtHeaders are Hop-by-Hop and Destination Options headers (each with
// a 4-byte PadN option) and a first-fragment header (offset 0, M set), ending
// in TCP.
var ipv6ExtHeaders = []byte{
	ProtoDestOpts, 0, 1, 4, 0, 0, 0, 0, // Hop-by-Hop
	ProtoFragment, 0, 1, 4, 0, 0, 0, 0, // Destination Options
	ProtoTCP, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, // Fragment
}

func buildIPv6ExtFragTCP(tb testing.TB) []byte {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 9, ACK: true, Ack: 10, Window: 1000}
	return build(tb, newIPv6(layers.IPProtocolIPv6HopByHop, addrA6, addrB6),
		gopacket.Payload(ipv6ExtHeaders), tcp, gopacket.Payload(seqBytes(40)))
}

// buildIPv6LaterFragment is a fragment at offset 1448 of a TCP datagram.
func buildIPv6LaterFragment(tb testing.TB) []byte {
	frag := []byte{ProtoTCP, 0, 0x05, 0xa8, 0xde, 0xad, 0xbe, 0xef}
	return build(tb, newIPv6(layers.IPProtocolIPv6Fragment, addrA6, addrB6),
		gopacket.Payload(append(frag, seqBytes(64)...)))
}

// buildIPv4LaterFragment is a last fragment at offset 1480 of a TCP datagram.
func buildIPv4LaterFragment(tb testing.TB) []byte {
	ip := newIPv4(layers.IPProtocolTCP, addrA4, addrB4)
	ip.Flags = 0
	ip.FragOffset = 185
	return build(tb, ip, gopacket.Payload(seqBytes(40)))
}

func buildGRE(tb testing.TB) []byte {
	gre := &layers.GRE{
		ChecksumPresent: true, KeyPresent: true, Key: 0xcafebabe, SeqPresent: true, Seq: 5,
		Protocol: layers.EthernetTypeIPv4,
	}
	inner := buildUDP(tb, flow{addrN4, addrR4, 1, 2}, []byte("tunnelled"))
	return build(tb, newIPv4(layers.IPProtocolGRE, addrA4, addrB4), gre, gopacket.Payload(inner))
}

// buildPPTPGRE is PPTP's enhanced GRE (version 1) with sequence and ack.
func buildPPTPGRE(tb testing.TB) []byte { return buildPPTPGRECall(tb, 0x0102) }

// buildPPTPGRECall is a PPTP data packet (enhanced GRE) of call callID.
func buildPPTPGRECall(tb testing.TB, callID uint16) []byte {
	gre := &layers.GRE{
		Version: 1, KeyPresent: true, Key: 4<<16 | uint32(callID), SeqPresent: true, Seq: 3,
		AckPresent: true, Ack: 2, Protocol: 0x880b,
	}
	return build(tb, newIPv4(layers.IPProtocolGRE, addrA4, addrB4), gre, gopacket.Payload("ppp!"))
}

func buildESP(tb testing.TB) []byte {
	esp := append([]byte{0x01, 0x02, 0x03, 0x04, 0, 0, 0, 1}, seqBytes(24)...)
	return build(tb, newIPv4(layers.IPProtocolESP, addrA4, addrB4), gopacket.Payload(esp))
}

func buildSCTP(tb testing.TB, f flow) []byte {
	sctp := &layers.SCTP{SrcPort: layers.SCTPPort(f.sport), DstPort: layers.SCTPPort(f.dport), VerificationTag: 0xabcdef01}
	return build(tb, newIP(f, layers.IPProtocolSCTP), sctp, gopacket.Payload(seqBytes(16)))
}

// ahHeader is an AH header of 24 bytes (length field 4) with SPI spi.
func ahHeader(next uint8, spi uint32) []byte {
	h := []byte{next, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	binary.BigEndian.PutUint32(h[4:8], spi)
	return append(h, seqBytes(12)...) // ICV
}

func buildAH4(tb testing.TB) []byte {
	return build(tb, newIPv4(layers.IPProtocolAH, addrA4, addrB4), gopacket.Payload(append(ahHeader(ProtoTCP, 0x11223344), seqBytes(20)...)))
}

func buildIPv6AHTCP(tb testing.TB) []byte {
	tcp := &layers.TCP{SrcPort: 1234, DstPort: 22, Seq: 1, SYN: true, Window: 100}
	return build(tb, newIPv6(layers.IPProtocolAH, addrA6, addrB6), gopacket.Payload(ahHeader(ProtoTCP, 0x55667788)), tcp)
}

func buildIPv6NoNext(tb testing.TB) []byte {
	return build(tb, newIPv6(layers.IPProtocolNoNextHeader, addrA6, addrB6), gopacket.Payload(seqBytes(8)))
}

func buildIPv4OptionsUDP(tb testing.TB) []byte {
	ip := newIPv4(layers.IPProtocolUDP, addrA4, addrB4)
	ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // Router Alert
	udp := &layers.UDP{SrcPort: 1, DstPort: 2}
	return build(tb, ip, udp, gopacket.Payload("opt"))
}

// pseudoChecksum computes with gopacket's checksum code the checksum over
// an IP packet's pseudo-header for proto and l4 length n, plus covered, as
// a check on ours for protocols gopacket cannot serialize.
func pseudoChecksum(src, dst netip.Addr, proto uint8, n int, covered []byte) uint16 {
	var ph []byte
	ph = append(ph, src.AsSlice()...)
	ph = append(ph, dst.AsSlice()...)
	if src.Is4() {
		ph = append(ph, 0, proto)
		ph = binary.BigEndian.AppendUint16(ph, uint16(n))
	} else {
		ph = binary.BigEndian.AppendUint32(ph, uint32(n))
		ph = append(ph, 0, 0, 0, proto)
	}
	return gopacket.FoldChecksum(gopacket.ComputeChecksum(covered, gopacket.ComputeChecksum(ph, 0)))
}

// buildUDPLite is UDP-Lite with a checksum covering the header and 4 bytes
// of the 20-byte payload.
func buildUDPLite(tb testing.TB, f flow) []byte {
	l4 := make([]byte, 8, 28)
	binary.BigEndian.PutUint16(l4[0:2], f.sport)
	binary.BigEndian.PutUint16(l4[2:4], f.dport)
	binary.BigEndian.PutUint16(l4[4:6], 12)
	l4 = append(l4, seqBytes(20)...)
	binary.BigEndian.PutUint16(l4[6:8], pseudoChecksum(f.src, f.dst, ProtoUDPLite, len(l4), l4[:12]))
	return build(tb, newIP(f, layers.IPProtocolUDPLite), gopacket.Payload(l4))
}

// buildDCCP is a DCCP Request with a 16-byte generic header (X set) plus
// the 4-byte service code, and 8 bytes of data; CsCov is 0.
func buildDCCP(tb testing.TB, f flow) []byte {
	l4 := make([]byte, 20, 28)
	binary.BigEndian.PutUint16(l4[0:2], f.sport)
	binary.BigEndian.PutUint16(l4[2:4], f.dport)
	l4[4] = 5        // data offset: 20 bytes
	l4[8] = 0<<1 | 1 // type Request, X set
	l4[15] = 42      // sequence number low bits
	l4[19] = 0x53    // service code
	l4 = append(l4, seqBytes(8)...)
	binary.BigEndian.PutUint16(l4[6:8], pseudoChecksum(f.src, f.dst, ProtoDCCP, len(l4), l4))
	return build(tb, newIP(f, layers.IPProtocol(ProtoDCCP)), gopacket.Payload(l4))
}

// testPacket is a named packet of the test corpus.
type testPacket struct {
	name string
	b    []byte
}

// corpus returns one packet of every kind this package parses.
func corpus(tb testing.TB) []testPacket {
	tcp4 := buildTCPData(tb, flow4)
	udp6 := buildUDP(tb, flow6, []byte("hello, world"))
	return []testPacket{
		{"tcp4-syn-options", buildTCPSYN(tb, flow4)},
		{"tcp4-timestamps-payload", tcp4},
		{"tcp6-syn-options", buildTCPSYN(tb, flow6)},
		{"udp4", buildUDP(tb, flow4, []byte("hello, world"))},
		{"udp6", udp6},
		{"icmp4-echo", buildICMPEcho(tb, flow4, 0x4242, 7)},
		{"icmp6-echo", buildICMPEcho(tb, flow6, 0x4343, 9)},
		{"icmp4-error-tcp", buildICMPError(tb, addrR4, tcp4)},
		{"icmp4-error-tcp-8-bytes", buildICMPError(tb, addrR4, tcp4[:28])},
		{"icmp6-error-udp", buildICMPError(tb, addrR6, udp6)},
		{"ipv6-ext-fragment-tcp", buildIPv6ExtFragTCP(tb)},
		{"ipv6-later-fragment", buildIPv6LaterFragment(tb)},
		{"ipv4-later-fragment", buildIPv4LaterFragment(tb)},
		{"gre4-checksum-key", buildGRE(tb)},
		{"gre4-pptp", buildPPTPGRE(tb)},
		{"esp4", buildESP(tb)},
		{"ah4", buildAH4(tb)},
		{"ipv6-ah-tcp", buildIPv6AHTCP(tb)},
		{"ipv6-no-next-header", buildIPv6NoNext(tb)},
		{"ipv4-options-udp", buildIPv4OptionsUDP(tb)},
		{"sctp4", buildSCTP(tb, flow4)},
		{"sctp6", buildSCTP(tb, flow6)},
		{"udplite6", buildUDPLite(tb, flow6)},
		{"dccp4", buildDCCP(tb, flow4)},
		{"truncated-tcp4", tcp4[:30]},
	}
}

// diffPackets lists the exported fields in which got and want differ.
func diffPackets(got, want *Packet) string {
	var sb strings.Builder
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := 0; i < gv.NumField(); i++ {
		f := gv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&sb, "\n\t%s: got %+v, want %+v", f.Name, g, w)
		}
	}
	return sb.String()
}
