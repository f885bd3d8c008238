package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Each rewrite test changes a packet in place and checks the result, bytes
// and checksums, against the packet gopacket builds from scratch with the new
// value.

func TestSetAddrMatchesFreshPacket(t *testing.T) {
	builders := []struct {
		name  string
		build func(testing.TB, flow) []byte
	}{
		{"tcp", buildTCPData},
		{"udp", func(tb testing.TB, f flow) []byte { return buildUDP(tb, f, []byte("hello")) }},
		{"icmp-echo", func(tb testing.TB, f flow) []byte { return buildICMPEcho(tb, f, 7, 8) }},
		{"sctp", buildSCTP},
		{"udplite", buildUDPLite},
		{"dccp", buildDCCP},
	}
	for _, fam := range []struct {
		f        flow
		src, dst netip.Addr
	}{{flow4, addrN4, addrR4}, {flow6, addrN6, addrR6}} {
		for _, bl := range builders {
			name := bl.name + map[bool]string{true: "4", false: "6"}[fam.f.src.Is4()]
			t.Run(name+"/SetSrc", func(t *testing.T) {
				var p Packet
				b := bl.build(t, fam.f)
				p.Decode(b)
				if !p.SetSrc(fam.src) {
					t.Fatal("SetSrc = false")
				}
				want := fam.f
				want.src = fam.src
				checkRewrite(t, &p, bl.build(t, want))
				if p.Src() != fam.src {
					t.Errorf("Src() = %v, want %v", p.Src(), fam.src)
				}
			})
			t.Run(name+"/SetDst", func(t *testing.T) {
				var p Packet
				p.Decode(bl.build(t, fam.f))
				if !p.SetDst(fam.dst) {
					t.Fatal("SetDst = false")
				}
				want := fam.f
				want.dst = fam.dst
				checkRewrite(t, &p, bl.build(t, want))
			})
			if bl.name == "icmp-echo" {
				continue
			}
			t.Run(name+"/SetSrcPort", func(t *testing.T) {
				var p Packet
				p.Decode(bl.build(t, fam.f))
				if !p.SetSrcPort(1024) || p.SrcPort != 1024 {
					t.Fatalf("SetSrcPort = false or SrcPort = %d", p.SrcPort)
				}
				want := fam.f
				want.sport = 1024
				checkRewrite(t, &p, bl.build(t, want))
			})
			t.Run(name+"/SetDstPort", func(t *testing.T) {
				var p Packet
				p.Decode(bl.build(t, fam.f))
				if !p.SetDstPort(65535) || p.DstPort != 65535 {
					t.Fatalf("SetDstPort = false or DstPort = %d", p.DstPort)
				}
				want := fam.f
				want.dport = 65535
				checkRewrite(t, &p, bl.build(t, want))
			})
		}
	}
}

// checkRewrite checks that the rewritten p is byte for byte want, and that
// its checksums verify.
func checkRewrite(t *testing.T, p *Packet, want []byte) {
	t.Helper()
	if !bytes.Equal(p.Bytes(), want) {
		t.Errorf("rewritten packet:\n got %x\nwant %x", p.Bytes(), want)
	}
	if p.Family == IPv4 && !p.IPv4HeaderChecksumOK() {
		t.Errorf("IPv4HeaderChecksumOK() = false after the rewrite")
	}
	if p.l4Checksummable() && !p.L4ChecksumOK() {
		t.Errorf("L4ChecksumOK() = false after the rewrite")
	}
	// The incremental updates must give what a full recomputation gives.
	var full Packet
	full.Decode(bytes.Clone(p.Bytes()))
	full.ComputeChecksums()
	if p.l4Checksummable() && !bytes.Equal(full.Bytes(), p.Bytes()) {
		t.Errorf("incrementally updated checksums differ from recomputed ones:\n got %x\nwant %x", p.Bytes(), full.Bytes())
	}
}

func TestSetAddrIPv6ExtensionHeadersAndFragments(t *testing.T) {
	// The L4 checksum of a first fragment covers the whole datagram, but
	// the pseudo-header change is the same, so the update is still right.
	b := buildIPv6ExtFragTCP(t)
	var p Packet
	p.Decode(b)
	if !p.SetSrc(addrN6) {
		t.Fatal("SetSrc = false")
	}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 9, ACK: true, Ack: 10, Window: 1000}
	want := build(t, newIPv6(layers.IPProtocolIPv6HopByHop, addrN6, addrB6),
		gopacket.Payload(ipv6ExtHeaders), tcp, gopacket.Payload(seqBytes(40)))
	checkRewrite(t, &p, want)

	// A later fragment has no L4 header: only the address changes.
	b = buildIPv4LaterFragment(t)
	p.Decode(b)
	if !p.SetDst(addrN4) || !p.IPv4HeaderChecksumOK() {
		t.Errorf("SetDst on a later fragment: IPv4 header checksum wrong")
	}
	if p.SetSrcPort(1) {
		t.Errorf("SetSrcPort on a later fragment = true, want false")
	}
}

func TestSetPortKeepsZeroUDPChecksum(t *testing.T) {
	b := buildUDP(t, flow4, []byte("x"))
	binary.BigEndian.PutUint16(b[26:28], 0) // no checksum (RFC 768)
	var p Packet
	p.Decode(b)
	if !p.SetSrcPort(999) || !p.SetSrc(addrN4) {
		t.Fatal("SetSrcPort or SetSrc = false")
	}
	if c := binary.BigEndian.Uint16(b[26:28]); c != 0 {
		t.Errorf("UDP checksum after rewrites = %#04x, want 0 (none) kept", c)
	}
}

func TestSetPortNeverLeavesZeroUDPChecksum(t *testing.T) {
	// Exactly one source port makes the checksum come out 0; the update must
	// store 0xffff instead, which still verifies.
	for port := range 0x10000 {
		var p Packet
		p.Decode(buildUDP(t, flow4, []byte("x")))
		p.SetSrcPort(uint16(port))
		c := binary.BigEndian.Uint16(p.b[26:28])
		if c == 0 {
			t.Fatalf("port %d: UDP checksum updated to 0, which means none", port)
		}
		if c == 0xffff {
			if !p.L4ChecksumOK() {
				t.Errorf("port %d: checksum 0xffff does not verify", port)
			}
			return
		}
	}
	t.Fatal("no port gave a zero UDP checksum")
}

func TestRewriteKeepsABadChecksumBad(t *testing.T) {
	// Incremental updates carry the error along, as the kernel's do: NAT
	// must not repair a corrupt packet.
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"tcp4", buildTCPData(t, flow4)},
		{"udp6", buildUDP(t, flow6, []byte("x"))},
		{"sctp4", buildSCTP(t, flow4)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			p.Decode(tt.b)
			tt.b[len(tt.b)-1] ^= 1
			if p.L4ChecksumOK() {
				t.Fatal("corrupted packet verifies")
			}
			p.SetSrcPort(1)
			p.SetDstPort(2)
			if p.Family == IPv4 {
				p.SetSrc(addrN4)
			} else {
				p.SetSrc(addrN6)
			}
			if p.L4ChecksumOK() {
				t.Errorf("L4ChecksumOK() = true after rewriting a corrupt packet")
			}
			tt.b[len(tt.b)-1] ^= 1
			if !p.L4ChecksumOK() {
				t.Errorf("L4ChecksumOK() = false after undoing the corruption: the update lost the error's size")
			}
		})
	}
}

func TestSetICMPIDMatchesFreshPacket(t *testing.T) {
	for _, f := range []flow{flow4, flow6} {
		var p Packet
		p.Decode(buildICMPEcho(t, f, 0x4242, 7))
		if !p.SetICMPID(0x0101) || p.ICMPID != 0x0101 {
			t.Fatalf("SetICMPID = false or ICMPID = %#x", p.ICMPID)
		}
		checkRewrite(t, &p, buildICMPEcho(t, f, 0x0101, 7))
	}
}

func TestSetGRECallIDMatchesFreshPacket(t *testing.T) {
	var p Packet
	p.Decode(buildPPTPGRECall(t, 0x0102))
	if !p.SetGRECallID(0xbeef) || p.GREKey != 4<<16|0xbeef {
		t.Fatalf("SetGRECallID = false or GREKey = %#x", p.GREKey)
	}
	checkRewrite(t, &p, buildPPTPGRECall(t, 0xbeef))
}

func TestSetTTLAndTOSMatchFreshPacket(t *testing.T) {
	for _, f := range []flow{flow4, flow6} {
		var p Packet
		p.Decode(buildTCPData(t, f))
		p.SetTTL(3)
		p.SetTOS(0xb9)
		ip := newIP(f, layers.IPProtocolTCP)
		switch ip := ip.(type) {
		case *layers.IPv4:
			ip.TTL, ip.TOS = 3, 0xb9
		case *layers.IPv6:
			ip.HopLimit, ip.TrafficClass = 3, 0xb9
		}
		tcp := &layers.TCP{
			SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport),
			Seq: 5000, Ack: 7000, ACK: true, PSH: true, Window: 502,
			Options: []layers.TCPOption{nop, nop, tsOption(0x01020304, 0x05060708)},
		}
		checkRewrite(t, &p, build(t, ip, tcp, gopacket.Payload(seqBytes(100))))
		if p.TTL != 3 || p.TOS != 0xb9 {
			t.Errorf("TTL, TOS = %d, %#x; want 3, 0xb9", p.TTL, p.TOS)
		}
	}
}

func TestSetTTLWorksWithInvalidL4(t *testing.T) {
	// The kernel forwards a packet whose TCP header is broken; decrementing
	// its TTL must still keep the IPv4 header checksum right.
	b := buildTCPData(t, flow4)
	b[32] = 2 << 4 // data offset 2
	var p Packet
	p.Decode(b)
	if p.Invalid != InvalidTCPDataOffset {
		t.Fatalf("Invalid = %v, want %v", p.Invalid, InvalidTCPDataOffset)
	}
	p.SetTTL(p.TTL - 1)
	if b[8] != 63 || !p.IPv4HeaderChecksumOK() {
		t.Errorf("TTL = %d, header checksum ok = %v; want 63, true", b[8], p.IPv4HeaderChecksumOK())
	}
}

func TestSetTCPMSS(t *testing.T) {
	// With an odd number of bytes before it, the MSS value straddles two
	// checksum words.
	for _, lead := range []int{0, 1, 2, 3} {
		opts := make([]layers.TCPOption, 0, lead+1)
		for range lead {
			opts = append(opts, nop)
		}
		mk := func(mss uint16) []byte {
			tcp := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 3, SYN: true, Window: 4, Options: append(opts, mssOption(mss))}
			return build(t, newIPv4(layers.IPProtocolTCP, addrA4, addrB4), tcp)
		}
		var p Packet
		p.Decode(mk(1460))
		if !p.SetTCPMSS(1400) || p.TCPOptions.MSS != 1400 {
			t.Fatalf("%d NOPs: SetTCPMSS = false or MSS = %d", lead, p.TCPOptions.MSS)
		}
		checkRewrite(t, &p, mk(1400))
	}
	var p Packet
	p.Decode(buildTCPData(t, flow4))
	if p.SetTCPMSS(1400) {
		t.Errorf("SetTCPMSS without an MSS option = true, want false")
	}
}

func TestSetRefusesWhatIsNotThere(t *testing.T) {
	var p Packet
	tests := []struct {
		name string
		b    []byte
		set  func() bool
	}{
		{"IPv6 address on IPv4", buildUDP(t, flow4, nil), func() bool { return p.SetSrc(addrA6) }},
		{"IPv4-mapped address on IPv4", buildUDP(t, flow4, nil), func() bool { return p.SetDst(netip.MustParseAddr("::ffff:1.2.3.4")) }},
		{"IPv4 address on IPv6", buildUDP(t, flow6, nil), func() bool { return p.SetDst(addrA4) }},
		{"zero address", buildUDP(t, flow6, nil), func() bool { return p.SetSrc(netip.Addr{}) }},
		{"port on ICMP", buildICMPEcho(t, flow4, 1, 1), func() bool { return p.SetSrcPort(1) }},
		{"port on ESP", buildESP(t), func() bool { return p.SetDstPort(1) }},
		{"ICMP id on TCP", buildTCPData(t, flow4), func() bool { return p.SetICMPID(1) }},
		{"ICMP id on an ICMP error", buildICMPError(t, addrR4, buildTCPData(t, flow4)), func() bool { return p.SetICMPID(1) }},
		{"MSS on UDP", buildUDP(t, flow4, nil), func() bool { return p.SetTCPMSS(1) }},
		{"call ID on GRE version 0", buildGRE(t), func() bool { return p.SetGRECallID(1) }},
		{"call ID on UDP", buildUDP(t, flow4, nil), func() bool { return p.SetGRECallID(1) }},
		{"address on an invalid packet", buildTCPData(t, flow4)[:100], func() bool { return p.SetSrc(addrN4) }},
		{"port on an invalid packet", buildTCPData(t, flow4)[:100], func() bool { return p.SetSrcPort(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Decode(tt.b)
			before := bytes.Clone(tt.b)
			if tt.set() {
				t.Errorf("Set = true, want false")
			}
			if !bytes.Equal(tt.b, before) {
				t.Errorf("a refused Set changed the packet")
			}
		})
	}
}

func TestRewriteEmbeddedPacketOfICMPError(t *testing.T) {
	// NAT of an ICMP error rewrites the embedded packet (the reply
	// direction's tuple), then recomputes the outer ICMP checksum.
	for _, tt := range []struct {
		name  string
		inner []byte
	}{
		{"full TCP", buildTCPData(t, flow4)},
		{"TCP cut to 8 bytes", buildTCPData(t, flow4)[:28]},
		{"UDP6", buildUDP(t, flow6, []byte("hello"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := addrR4
			n := addrN4
			if tt.inner[0]>>4 == 6 {
				r, n = addrR6, addrN6
			}
			var outer, inner Packet
			outer.Decode(buildICMPError(t, r, tt.inner))
			if !outer.Embedded(&inner) {
				t.Fatalf("Embedded = false (inner Invalid %v)", inner.Invalid)
			}
			if !inner.SetSrc(n) || !inner.SetSrcPort(5555) {
				t.Fatal("SetSrc or SetSrcPort on the embedded packet = false")
			}
			outer.ComputeChecksums()

			// The same rewrite on a standalone copy of the inner packet.
			var alone Packet
			alone.DecodeEmbedded(bytes.Clone(tt.inner))
			alone.SetSrc(n)
			alone.SetSrcPort(5555)
			if !bytes.Equal(inner.Bytes(), alone.Bytes()) {
				t.Errorf("embedded rewrite:\n got %x\nwant %x", inner.Bytes(), alone.Bytes())
			}
			if inner.Family == IPv4 && !inner.IPv4HeaderChecksumOK() {
				t.Errorf("embedded IPv4 header checksum wrong after rewrite")
			}
			if !inner.Truncated && !inner.L4ChecksumOK() {
				t.Errorf("embedded L4 checksum wrong after rewrite")
			}
			if !outer.L4ChecksumOK() {
				t.Errorf("outer ICMP checksum wrong after ComputeChecksums")
			}
		})
	}
}

// partialOf returns a copy of the packet b whose L4 checksum is made
// partial, as a sender with checksum offload leaves it: the field holds
// the sum of the pseudo-header alone.
func partialOf(tb testing.TB, b []byte, at int) []byte {
	tb.Helper()
	c := append([]byte(nil), b...)
	var p Packet
	p.Decode(c)
	n := p.Length - p.L4Off
	if p.Proto == ProtoUDP {
		n = int(binary.BigEndian.Uint16(c[p.L4Off+4:]))
	}
	binary.BigEndian.PutUint16(c[p.L4Off+at:], fold(p.pseudoSum(p.Proto, n)))
	return c
}

func TestPartialChecksumSurvivesNATAndCompletes(t *testing.T) {
	for _, c := range []struct {
		name  string
		b     []byte
		at    int
		src   netip.Addr
		sport uint16
	}{
		{"tcp4", buildTCPData(t, flow4), 16, addrN4, 61000},
		{"udp4", buildUDP(t, flow4, []byte("hello")), 6, addrN4, 61000},
		{"tcp6", buildTCPData(t, flow6), 16, addrN6, 61000},
		{"udp6", buildUDP(t, flow6, []byte("hello")), 6, addrN6, 61000},
	} {
		t.Run(c.name, func(t *testing.T) {
			full := append([]byte(nil), c.b...)
			part := partialOf(t, c.b, c.at)
			var pf, pp Packet
			pf.Decode(full)
			pp.Decode(part)
			pp.PartialChecksum = true
			if !pp.L4ChecksumOK() {
				t.Fatal("L4ChecksumOK of a partial checksum = false, want true (the kernel does not verify it)")
			}
			for _, q := range []*Packet{&pf, &pp} {
				if !q.SetSrc(c.src) || !q.SetSrcPort(c.sport) || !q.SetDst(c.src) || !q.SetDstPort(c.sport+1) {
					t.Fatal("rewrite refused")
				}
			}
			// The partial field must still be the new pseudo-header's sum.
			var fresh Packet
			fresh.Decode(part)
			n := fresh.Length - fresh.L4Off
			if fresh.Proto == ProtoUDP {
				n = int(binary.BigEndian.Uint16(part[fresh.L4Off+4:]))
			}
			if got, want := binary.BigEndian.Uint16(part[pp.L4Off+c.at:]), fold(fresh.pseudoSum(fresh.Proto, n)); got != want {
				t.Errorf("partial field after NAT = %#04x, want the new pseudo-header sum %#04x", got, want)
			}
			pp.CompleteChecksum()
			if pp.PartialChecksum {
				t.Error("PartialChecksum still set after CompleteChecksum")
			}
			if !bytes.Equal(part, full) {
				t.Errorf("completed partial packet differs from the fully checksummed one:\n got %x\nwant %x", part, full)
			}
			if !pp.L4ChecksumOK() || !pf.L4ChecksumOK() {
				t.Errorf("checksums after NAT: completed %v, full %v; want both good", pp.L4ChecksumOK(), pf.L4ChecksumOK())
			}
		})
	}
}

// buildTCPSACK is an ACK with a SACK option after one NOP, so that its
// edges sit at odd offsets from the TCP header, and 20 bytes of data.
func buildTCPSACK(tb testing.TB, seq, ack uint32, blocks ...[2]uint32) []byte {
	var data []byte
	for _, b := range blocks {
		data = binary.BigEndian.AppendUint32(data, b[0])
		data = binary.BigEndian.AppendUint32(data, b[1])
	}
	tcp := &layers.TCP{
		SrcPort: 40000, DstPort: 21, Seq: seq, Ack: ack, ACK: true, Window: 502,
		Options: []layers.TCPOption{nop, {OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(data)), OptionData: data}},
	}
	return build(tb, newIP(flow4, layers.IPProtocolTCP), tcp, gopacket.Payload(seqBytes(20)))
}

func TestSeqAckAndSACKRewriteMatchFreshPacket(t *testing.T) {
	b := buildTCPSACK(t, 100, 200, [2]uint32{300, 400}, [2]uint32{0xfffffff0, 8})
	var p Packet
	p.Decode(b)
	if !p.SetTCPSeqAck(105, 195) {
		t.Fatal("SetTCPSeqAck = false")
	}
	if !p.MapSACK(func(e uint32) uint32 { return e - 5 }) {
		t.Fatal("MapSACK = false")
	}
	want := buildTCPSACK(t, 105, 195, [2]uint32{295, 395}, [2]uint32{0xffffffeb, 3})
	if !bytes.Equal(b, want) {
		t.Errorf("rewritten\n got %x\nwant %x", b, want)
	}
	if p.Seq != 105 || p.Ack != 195 {
		t.Errorf("fields: seq %d ack %d, want 105 195", p.Seq, p.Ack)
	}
	if p.SetTCPSeqAck(105, 195) {
		t.Error("SetTCPSeqAck with the same numbers reported a change")
	}
}
