package nat

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

var (
	client  = netip.MustParseAddr("192.168.1.10")
	server  = netip.MustParseAddr("198.51.100.1")
	public  = netip.MustParseAddr("203.0.113.5")    // the NAT's address
	router  = netip.MustParseAddr("198.51.100.254") // sends ICMP errors
	client6 = netip.MustParseAddr("fd00::10")
	server6 = netip.MustParseAddr("2001:db8:1::1")
	public6 = netip.MustParseAddr("2001:db8::5")
	router6 = netip.MustParseAddr("2001:db8:1::fe")
)

// spec is a packet's addresses and ports (or ICMP id) and protocol.
type spec = testpkt.Spec

func tupleOf(t *testing.T, b []byte) conntrack.Tuple {
	t.Helper()
	var p packet.Packet
	p.Decode(b)
	tp, ok := conntrack.TupleOf(&p, 0)
	if !ok {
		t.Fatal("no tuple")
	}
	return tp
}

// check decodes b and verifies its checksums from scratch.
func check(t *testing.T, b []byte) {
	t.Helper()
	var p packet.Packet
	p.Decode(b)
	if p.Invalid != packet.OK {
		t.Fatalf("decodes as %v", p.Invalid)
	}
	if p.Family == packet.IPv4 && !p.IPv4HeaderChecksumOK() {
		t.Error("IPv4 header checksum wrong")
	}
	if !p.L4ChecksumOK() {
		t.Error("L4 checksum wrong")
	}
	c := append([]byte(nil), b...)
	var q packet.Packet
	q.Decode(c)
	q.ComputeChecksums()
	if !bytes.Equal(c, b) {
		t.Errorf("checksums differ from a full recomputation:\n got %x\nwant %x", b, c)
	}
}

func zeroUDPChecksum(b []byte) []byte {
	off := 20
	if b[0]>>4 == 6 {
		off = 40
	}
	b[off+6], b[off+7] = 0, 0
	return b
}

func TestApplyRewritesBothDirections(t *testing.T) {
	pl := []byte("hello, nat")
	tests := []struct {
		name string
		// The connection's first packet before and after NAT.
		orig, natted spec
		m            Manip // the side NAT changed
		zeroUDP      bool
	}{
		{"SNAT TCP", spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 80, Flags: "PA", Payload: pl},
			spec{Proto: "tcp", Src: public, Dst: server, SrcPort: 50000, DstPort: 80, Flags: "PA", Payload: pl}, ManipSrc, false},
		{"DNAT TCP with port change", spec{Proto: "tcp", Src: client, Dst: public, SrcPort: 40000, DstPort: 80, Flags: "A", Payload: pl},
			spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 8080, Flags: "A", Payload: pl}, ManipDst, false},
		{"SNAT UDP", spec{Proto: "udp", Src: client, Dst: server, SrcPort: 40000, DstPort: 53, Payload: pl},
			spec{Proto: "udp", Src: public, Dst: server, SrcPort: 1024, DstPort: 53, Payload: pl}, ManipSrc, false},
		{"SNAT UDP without checksum", spec{Proto: "udp", Src: client, Dst: server, SrcPort: 40000, DstPort: 53, Payload: pl},
			spec{Proto: "udp", Src: public, Dst: server, SrcPort: 1024, DstPort: 53, Payload: pl}, ManipSrc, true},
		{"SNAT ICMP echo with new id", spec{Proto: "icmp", Src: client, Dst: server, ICMPType: 8, ICMPID: 77, ICMPSeq: 1, Payload: pl},
			spec{Proto: "icmp", Src: public, Dst: server, ICMPType: 8, ICMPID: 1234, ICMPSeq: 1, Payload: pl}, ManipSrc, false},
		{"SNAT IPv6 TCP", spec{Proto: "tcp", Src: client6, Dst: server6, SrcPort: 40000, DstPort: 443, Flags: "S"},
			spec{Proto: "tcp", Src: public6, Dst: server6, SrcPort: 40000, DstPort: 443, Flags: "S"}, ManipSrc, false},
		{"DNAT IPv6 UDP", spec{Proto: "udp", Src: client6, Dst: public6, SrcPort: 40000, DstPort: 53, Payload: pl},
			spec{Proto: "udp", Src: client6, Dst: server6, SrcPort: 40000, DstPort: 5353, Payload: pl}, ManipDst, false},
		{"SNAT ICMPv6 echo with new id", spec{Proto: "icmp", Src: client6, Dst: server6, ICMPType: 128, ICMPID: 77, ICMPSeq: 1},
			spec{Proto: "icmp", Src: public6, Dst: server6, ICMPType: 128, ICMPID: 99, ICMPSeq: 1}, ManipSrc, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := func(s spec) []byte {
				b := testpkt.Build(s)
				if tt.zeroUDP {
					zeroUDPChecksum(b)
				}
				return b
			}
			orig := tupleOf(t, build(tt.orig))
			natT := tupleOf(t, build(tt.natted))
			reply, _ := natT.Invert()
			st := tt.m.Status()

			// The reply as the server sends it and as the client gets it.
			rev := func(s spec) spec {
				s.Src, s.Dst, s.SrcPort, s.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
				switch s.ICMPType {
				case 8:
					s.ICMPType = 0
				case 128:
					s.ICMPType = 129
				}
				return s
			}
			cases := []struct {
				dir      conntrack.Dir
				in, want spec
				m        Manip
			}{
				{conntrack.Original, tt.orig, tt.natted, tt.m},
				{conntrack.Reply, rev(tt.natted), rev(tt.orig), 1 - tt.m},
			}
			for _, c := range cases {
				b := build(c.in)
				var p packet.Packet
				p.Decode(b)
				// The hook of the other manipulation leaves it alone.
				if !Apply(&p, c.dir, &orig, &reply, st, 1-c.m) || !bytes.Equal(b, build(c.in)) {
					t.Fatalf("%v: the other hook changed the packet", c.dir)
				}
				if !Apply(&p, c.dir, &orig, &reply, st, c.m) {
					t.Fatalf("%v: Apply failed", c.dir)
				}
				if want := build(c.want); !bytes.Equal(b, want) {
					t.Errorf("%v:\n got %x\nwant %x", c.dir, b, want)
				}
				if tt.zeroUDP {
					if off := p.L4Off; b[off+6] != 0 || b[off+7] != 0 {
						t.Errorf("%v: UDP checksum 0 became %x", c.dir, b[off+6:off+8])
					}
					continue
				}
				check(t, b)
			}
		})
	}
}

func TestApplyRewritesPPTPCallIDOnDestinationSide(t *testing.T) {
	// A PPTP call between client (call ID 0x100) and server (0x200),
	// source-NATed to public with the client's call ID changed to 0x300,
	// as the PPTP helper sets it up. Only the destination's key is in a
	// packet, so the original direction keeps its call ID and the reply
	// gets the client's back.
	gre := func(src, dst netip.Addr, call uint16) spec {
		return spec{Proto: "pptp", Src: src, Dst: dst, DstPort: call, Seq: 1, Payload: []byte("ppp frame")}
	}
	orig := tuple(packet.ProtoGRE, client.String(), 0x100, server.String(), 0x200)
	reply := tuple(packet.ProtoGRE, server.String(), 0x200, public.String(), 0x300)
	tests := []struct {
		name     string
		dir      conntrack.Dir
		m        Manip
		in, want spec
	}{
		{"original at POSTROUTING", conntrack.Original, ManipSrc, gre(client, server, 0x200), gre(public, server, 0x200)},
		{"reply at PREROUTING", conntrack.Reply, ManipDst, gre(server, public, 0x300), gre(server, client, 0x100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testpkt.Build(tt.in)
			var p packet.Packet
			p.Decode(b)
			if !Apply(&p, tt.dir, &orig, &reply, conntrack.StatusSrcNAT, tt.m) {
				t.Fatal("Apply failed")
			}
			if want := testpkt.Build(tt.want); !bytes.Equal(b, want) {
				t.Errorf("\n got %x\nwant %x", b, want)
			}
		})
	}
}

func TestApplyRefusesUndecodablePacket(t *testing.T) {
	b := testpkt.Truncate(testpkt.Build(spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 1, DstPort: 2}), 30)
	var p packet.Packet
	p.Decode(b)
	orig := tuple(tcp, "192.168.1.10", 1, "198.51.100.1", 2)
	reply := tuple(tcp, "198.51.100.1", 2, "203.0.113.5", 1)
	if Apply(&p, conntrack.Original, &orig, &reply, conntrack.StatusSrcNAT, ManipSrc) {
		t.Error("Apply on a truncated TCP header succeeded")
	}
}

// icmpError builds an ICMP(v6) error from src to dst that embeds the
// first n bytes of inner (all of it if n is 0).
func icmpError(src, dst netip.Addr, typ, code uint8, inner []byte, n int) []byte {
	if n > 0 {
		inner = inner[:n]
	}
	return testpkt.Build(spec{Proto: "icmp", Src: src, Dst: dst, ICMPType: typ, ICMPCode: code, Payload: inner})
}

const (
	snat = conntrack.StatusSrcNAT | conntrack.StatusSrcNATDone | conntrack.StatusDstNATDone
	dnat = conntrack.StatusDstNAT | conntrack.StatusSrcNATDone | conntrack.StatusDstNATDone
)

func TestTranslateICMPErrorUnNATsTheEmbeddedPacket(t *testing.T) {
	tcpOut := spec{Proto: "tcp", Src: public, Dst: server, SrcPort: 50000, DstPort: 80, Flags: "S", Seq: 7}
	tcpIn := spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 7}
	udpOut := spec{Proto: "udp", Src: public, Dst: server, SrcPort: 50000, DstPort: 53, Payload: []byte("query")}
	udpIn := spec{Proto: "udp", Src: client, Dst: server, SrcPort: 40000, DstPort: 53, Payload: []byte("query")}
	pingOut := spec{Proto: "icmp", Src: public, Dst: server, ICMPType: 8, ICMPID: 1234, ICMPSeq: 3}
	pingIn := spec{Proto: "icmp", Src: client, Dst: server, ICMPType: 8, ICMPID: 77, ICMPSeq: 3}
	udp6Out := spec{Proto: "udp", Src: public6, Dst: server6, SrcPort: 50000, DstPort: 53, Payload: []byte("query")}
	udp6In := spec{Proto: "udp", Src: client6, Dst: server6, SrcPort: 40000, DstPort: 53, Payload: []byte("query")}

	tests := []struct {
		name string
		// The connection: its first packet before and after SNAT.
		orig, natted spec
		// The error as it arrives and as it should leave.
		in, want []byte
	}{
		{"TCP, 8 bytes embedded", tcpIn, tcpOut,
			icmpError(router, public, 3, 1, testpkt.Build(tcpOut), 28),
			icmpError(router, client, 3, 1, testpkt.Build(tcpIn), 28)},
		{"UDP, whole datagram embedded", udpIn, udpOut,
			icmpError(router, public, 11, 0, testpkt.Build(udpOut), 0),
			icmpError(router, client, 11, 0, testpkt.Build(udpIn), 0)},
		{"ICMP echo", pingIn, pingOut,
			icmpError(router, public, 3, 4, testpkt.Build(pingOut), 0),
			icmpError(router, client, 3, 4, testpkt.Build(pingIn), 0)},
		{"IPv6 UDP", udp6In, udp6Out,
			icmpError(router6, public6, 1, 3, testpkt.Build(udp6Out), 0),
			icmpError(router6, client6, 1, 3, testpkt.Build(udp6In), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tupleOf(t, testpkt.Build(tt.orig))
			natT := tupleOf(t, testpkt.Build(tt.natted))
			reply, _ := natT.Invert()
			b := append([]byte(nil), tt.in...)
			var p packet.Packet
			p.Decode(b)
			// Back from the server's side: RELATED_REPLY, un-SNATed at
			// PREROUTING; POSTROUTING has nothing more to do.
			for _, m := range []Manip{ManipDst, ManipSrc} {
				p.Decode(b)
				if !TranslateICMPError(&p, conntrack.Reply, &orig, &reply, snat, m) {
					t.Fatalf("%v: TranslateICMPError failed", m)
				}
			}
			if !bytes.Equal(b, tt.want) {
				t.Errorf("\n got %x\nwant %x", b, tt.want)
			}
			check(t, b)
		})
	}
}

func TestTranslateICMPErrorFromBehindDNAT(t *testing.T) {
	// The client connects to public:80, DNATed to the server's 8080;
	// a router on the server's side cannot deliver to the server.
	toPublic := spec{Proto: "tcp", Src: client, Dst: public, SrcPort: 40000, DstPort: 80, Flags: "S"}
	toServer := spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 8080, Flags: "S"}
	orig := tupleOf(t, testpkt.Build(toPublic))
	natT := tupleOf(t, testpkt.Build(toServer))
	reply, _ := natT.Invert()

	b := icmpError(router, client, 3, 1, testpkt.Build(toServer), 0)
	var p packet.Packet
	p.Decode(b)
	if !TranslateICMPError(&p, conntrack.Reply, &orig, &reply, dnat, ManipDst) || !bytes.Equal(b, icmpError(router, client, 3, 1, testpkt.Build(toServer), 0)) {
		t.Fatal("PREROUTING changed an error about a DNATed connection")
	}
	p.Decode(b)
	if !TranslateICMPError(&p, conntrack.Reply, &orig, &reply, dnat, ManipSrc) {
		t.Fatal("POSTROUTING: TranslateICMPError failed")
	}
	// The client sees the error come from the address it talked to.
	if want := icmpError(public, client, 3, 1, testpkt.Build(toPublic), 0); !bytes.Equal(b, want) {
		t.Errorf("\n got %x\nwant %x", b, want)
	}
	check(t, b)
}

func TestTranslateICMPErrorDropsAsTheKernelDoes(t *testing.T) {
	out := spec{Proto: "udp", Src: public, Dst: server, SrcPort: 50000, DstPort: 53}
	orig := tuple(udp, "192.168.1.10", 40000, "198.51.100.1", 53)
	reply := tuple(udp, "198.51.100.1", 53, "203.0.113.5", 50000)
	badSum := icmpError(router, public, 3, 3, testpkt.Build(out), 0)
	binary.BigEndian.PutUint16(badSum[22:], binary.BigEndian.Uint16(badSum[22:])+1)
	redirect := icmpError(router, public, 5, 1, testpkt.Build(out), 0)
	const done = conntrack.StatusSrcNATDone | conntrack.StatusDstNATDone
	tests := []struct {
		name   string
		b      []byte
		status conntrack.Status
		want   bool
	}{
		{"redirect about a NATed connection", redirect, snat, false},
		{"redirect before both bindings exist", redirect, conntrack.StatusSrcNATDone, false},
		{"redirect about a null-bound connection passes", redirect, done, true},
		{"wrong ICMP checksum", badSum, snat, false},
		{"not an error", testpkt.Build(spec{Proto: "icmp", Src: router, Dst: public, ICMPType: 8}), snat, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Packet
			p.Decode(tt.b)
			if got := TranslateICMPError(&p, conntrack.Reply, &orig, &reply, tt.status, ManipDst); got != tt.want {
				t.Errorf("TranslateICMPError = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRewriteDoesNotAllocate(t *testing.T) {
	out := testpkt.Build(spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 80, Flags: "A", Payload: make([]byte, 1000)})
	orig := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80)
	reply := tuple(tcp, "198.51.100.1", 80, "203.0.113.5", 50000)
	errPkt := icmpError(router, public, 3, 1, testpkt.Build(spec{Proto: "tcp", Src: public, Dst: server, SrcPort: 50000, DstPort: 80}), 28)
	var p packet.Packet
	if n := testing.AllocsPerRun(100, func() {
		p.Decode(out)
		Apply(&p, conntrack.Original, &orig, &reply, snat, ManipSrc)
		p.Decode(out)
		Apply(&p, conntrack.Original, &orig, &reply, snat, ManipDst)
	}); n != 0 {
		t.Errorf("Apply: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		p.Decode(errPkt)
		TranslateICMPError(&p, conntrack.Reply, &orig, &reply, snat, ManipDst)
	}); n != 0 {
		t.Errorf("TranslateICMPError: %v allocations", n)
	}
}

func TestICMPIDRewrittenForQueriesOnly(t *testing.T) {
	tests := []struct {
		proto, typ uint8
		want       bool
	}{
		{packet.ProtoICMP, packet.ICMPEcho, true},
		{packet.ProtoICMP, packet.ICMPTimestampReply, true},
		{packet.ProtoICMP, packet.ICMPDestUnreach, false}, // its "unused" word stays unused
		{packet.ProtoICMP, packet.ICMPExtEcho, false},
		{packet.ProtoICMPv6, packet.ICMPv6EchoReply, true},
		{packet.ProtoICMPv6, packet.ICMPv6NIQuery, false},
	}
	for _, tt := range tests {
		if got := icmpIDRewritten(tt.proto, tt.typ); got != tt.want {
			t.Errorf("icmpIDRewritten(%d, %d) = %v, want %v", tt.proto, tt.typ, got, tt.want)
		}
	}
}
