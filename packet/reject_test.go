package packet

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// wantReset builds with gopacket the RST that nf_send_reset sends for a
// segment of flow f: from f.dst to f.src, ports swapped.
func wantReset(t *testing.T, f flow, ttl uint8, seq, ack uint32, withACK bool) []byte {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(f.dport), DstPort: layers.TCPPort(f.sport),
		Seq: seq, Ack: ack, RST: true, ACK: withACK,
	}
	if f.src.Is4() {
		ip := &layers.IPv4{Version: 4, Flags: layers.IPv4DontFragment, TTL: ttl,
			Protocol: layers.IPProtocolTCP, SrcIP: netIP(f.dst), DstIP: netIP(f.src)}
		return build(t, ip, tcp)
	}
	ip := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: layers.IPProtocolTCP,
		SrcIP: netIP(f.dst), DstIP: netIP(f.src)}
	return build(t, ip, tcp)
}

func TestBuildTCPResetMatchesKernel(t *testing.T) {
	for _, f := range []flow{flow4, flow6} {
		tests := []struct {
			name     string
			orig     []byte
			seq, ack uint32
			withACK  bool
		}{
			// No ACK in orig: seq 0, and acknowledge what orig occupied:
			// SYN counts one.
			{"reply to SYN", buildTCPSYN(t, f), 0, 1000 + 1, true},
			// ACK in orig: seq is orig's ack, and only RST.
			{"reply to ACK with data", buildTCPData(t, f), 7000, 0, false},
			{"reply to FIN with data and no ACK", func() []byte {
				tcp := &layers.TCP{SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport), Seq: 77, FIN: true, PSH: true}
				return build(t, newIP(f, layers.IPProtocolTCP), tcp, gopacket.Payload("12345"))
			}(), 0, 77 + 5 + 1, true},
		}
		for _, tt := range tests {
			name := tt.name + map[bool]string{true: " over IPv4", false: " over IPv6"}[f.src.Is4()]
			t.Run(name, func(t *testing.T) {
				var orig Packet
				orig.Decode(tt.orig)
				got, ok := BuildTCPReset(make([]byte, 0, 100), &orig, 57)
				if !ok {
					t.Fatal("BuildTCPReset = false")
				}
				want := wantReset(t, f, 57, tt.seq, tt.ack, tt.withACK)
				if !bytes.Equal(got, want) {
					t.Errorf("BuildTCPReset:\n got %x\nwant %x", got, want)
				}
				var rst Packet
				rst.Decode(got)
				if rst.Invalid != OK || !rst.L4ChecksumOK() || (rst.Family == IPv4 && !rst.IPv4HeaderChecksumOK()) {
					t.Errorf("reset does not verify: Invalid %v", rst.Invalid)
				}
			})
		}
	}
}

func TestBuildTCPResetRefuses(t *testing.T) {
	rst := &layers.TCP{SrcPort: 1, DstPort: 2, RST: true, ACK: true}
	mcast := flow4
	mcast.dst = netip.MustParseAddr("224.0.0.1")
	bcast := flow4
	bcast.dst = netip.MustParseAddr("255.255.255.255")
	unspec6 := flow6
	unspec6.src = netip.IPv6Unspecified()
	tests := []struct {
		name string
		orig []byte
		emb  bool
	}{
		{"a RST (no RST for RST)", build(t, newIPv4(layers.IPProtocolTCP, addrA4, addrB4), rst), false},
		{"UDP", buildUDP(t, flow4, nil), false},
		{"a later fragment", buildIPv4LaterFragment(t), false},
		{"an invalid packet", buildTCPData(t, flow4)[:60], false},
		{"a truncated embedded packet", buildTCPData(t, flow4)[:60], true},
		{"multicast destination", buildTCPSYN(t, mcast), false},
		{"limited broadcast destination", buildTCPSYN(t, bcast), false},
		{"unspecified IPv6 source", buildTCPSYN(t, unspec6), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Packet
			if tt.emb {
				orig.DecodeEmbedded(tt.orig)
			} else {
				orig.Decode(tt.orig)
			}
			if got, ok := BuildTCPReset(nil, &orig, 64); ok {
				t.Errorf("BuildTCPReset = %x, true; want false", got)
			}
		})
	}
}

func TestBuildICMPErrorMatchesKernel(t *testing.T) {
	big4 := buildUDP(t, flow4, seqBytes(1000))
	big6 := buildUDP(t, flow6, seqBytes(1400))
	tests := []struct {
		name  string
		orig  []byte
		src   netip.Addr
		quote int // bytes of orig quoted
	}{
		{"port unreachable for UDP", buildUDP(t, flow4, []byte("hello")), addrR4, 33},
		{"IPv4 quotes up to 576 bytes in all", big4, addrR4, 576 - 28},
		{"IPv4 with DSCP keeps TOS bits, sets precedence", buildTCPSYN(t, flow4), addrR4, 60},
		{"ICMPv6 port unreachable for UDP", buildUDP(t, flow6, []byte("hello")), addrR6, 53},
		{"ICMPv6 quotes up to 1280 bytes in all", big6, addrR6, 1280 - 48},
		{"ICMPv6 answers a later fragment", buildIPv6LaterFragment(t), addrR6, 112},
		{"ICMP echo request is answered", buildICMPEcho(t, flow4, 1, 1), addrR4, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Packet
			orig.Decode(tt.orig)
			got, ok := BuildICMPError(nil, &orig, tt.src, 3, 3, 61)
			if !ok {
				t.Fatal("BuildICMPError = false")
			}
			quote := gopacket.Payload(tt.orig[:tt.quote])
			var want []byte
			if tt.src.Is4() {
				// icmp_send: TOS = RT_TOS(orig) | IPTOS_PREC_INTERNETCONTROL;
				// the ICMP socket does not set DF.
				ip := &layers.IPv4{Version: 4, TOS: orig.TOS&0x1e | 0xc0, TTL: 61,
					Protocol: layers.IPProtocolICMPv4, SrcIP: netIP(tt.src), DstIP: netIP(orig.Src())}
				want = build(t, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, quote)
			} else {
				ip := &layers.IPv6{Version: 6, HopLimit: 61, NextHeader: layers.IPProtocolICMPv6,
					SrcIP: netIP(tt.src), DstIP: netIP(orig.Src())}
				want = build(t, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(3, 3)},
					gopacket.Payload(append(make([]byte, 4), quote...)))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("BuildICMPError:\n got %x\nwant %x", got, want)
			}
			var e, inner Packet
			e.Decode(got)
			if !e.L4ChecksumOK() {
				t.Errorf("ICMP checksum of the error does not verify")
			}
			if !e.Embedded(&inner) || inner.Src() != orig.Src() || inner.Proto != orig.Proto {
				t.Errorf("embedded packet: Invalid %v, src %v, proto %d", inner.Invalid, inner.Src(), inner.Proto)
			}
		})
	}
}

func TestBuildICMPErrorRefuses(t *testing.T) {
	mcast6 := flow6
	mcast6.dst = netip.MustParseAddr("ff02::1")
	bcast := flow4
	bcast.dst = netip.MustParseAddr("255.255.255.255")
	mcastSrc := flow4
	mcastSrc.src = netip.MustParseAddr("239.1.1.1")
	icmpType := func(typ uint8) []byte {
		return build(t, newIPv4(layers.IPProtocolICMPv4, addrA4, addrB4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0)}, gopacket.Payload(seqBytes(28)))
	}
	tests := []struct {
		name string
		orig []byte
		src  netip.Addr
	}{
		{"an ICMP error", buildICMPError(t, addrR4, buildUDP(t, flow4, nil)), addrR4},
		{"ICMP time exceeded", icmpType(ICMPTimeExceeded), addrR4},
		{"ICMP redirect", icmpType(ICMPRedirect), addrR4},
		{"ICMP type the kernel does not know", icmpType(44), addrR4},
		{"an ICMPv6 error", buildICMPError(t, addrR6, buildUDP(t, flow6, nil)), addrR6},
		{"an IPv4 later fragment (RFC 1122 3.2.2)", buildIPv4LaterFragment(t), addrR4},
		{"a multicast destination", buildUDP(t, mcast6, nil), addrR6},
		{"a broadcast destination", buildUDP(t, bcast, nil), addrR4},
		{"a multicast source", buildUDP(t, mcastSrc, nil), addrR4},
		{"a source address of the other family", buildUDP(t, flow4, nil), addrR6},
		{"an invalid packet", buildUDP(t, flow4, nil)[:27], addrR4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Packet
			orig.Decode(tt.orig)
			if got, ok := BuildICMPError(nil, &orig, tt.src, 3, 3, 64); ok {
				t.Errorf("BuildICMPError = %x, true; want false", got)
			}
		})
	}
}

func TestBuildRepliesOverTheOriginalBuffer(t *testing.T) {
	// An NFQUEUE user may build the reply in the buffer of the packet it
	// answers; the result must be the same as into a fresh buffer.
	for _, tp := range []testPacket{
		{"tcp4", buildTCPData(t, flow4)},
		{"tcp6", buildTCPSYN(t, flow6)},
		{"udp4", buildUDP(t, flow4, seqBytes(600))},
		{"udp6", buildUDP(t, flow6, seqBytes(20))},
	} {
		t.Run(tp.name, func(t *testing.T) {
			src := addrR4
			if tp.b[0]>>4 == 6 {
				src = addrR6
			}
			build := func(dst []byte, orig *Packet) ([]byte, bool) {
				if orig.Proto == ProtoTCP {
					return BuildTCPReset(dst, orig, 64)
				}
				return BuildICMPError(dst, orig, src, 3, 3, 64)
			}
			var orig Packet
			orig.Decode(tp.b)
			want, ok := build(nil, &orig)
			if !ok {
				t.Fatal("build = false")
			}
			buf := make([]byte, 2000)
			copy(buf, tp.b)
			orig.Decode(buf[:len(tp.b)])
			got, ok := build(buf, &orig)
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("built over the original:\n got %x\nwant %x", got, want)
			}
			if &got[0] != &buf[0] {
				t.Errorf("result does not use dst's backing array")
			}
		})
	}
}
