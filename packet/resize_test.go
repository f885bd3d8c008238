package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// resizeCase is a packet whose payload is rewritten from before to
// after; the result must equal the packet built fresh with after.
type resizeCase struct {
	name          string
	spec          testpkt.Spec
	before, after string
	off, n        int    // the replaced range of before
	rep           string // what replaces it
}

func resizeCases() []resizeCase {
	a := netip.MustParseAddr
	tcp4 := testpkt.Spec{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "tcp", SrcPort: 40000, DstPort: 21, Flags: "PA", Seq: 1000, Ack: 2000}
	tcp6 := testpkt.Spec{Src: a("2001:db8::5"), Dst: a("2001:db8:1::2"), Proto: "tcp", SrcPort: 40000, DstPort: 21, Flags: "PA", Seq: 1000, Ack: 2000, Timestamps: true, TSVal: 7}
	udp4 := testpkt.Spec{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "udp", SrcPort: 5060, DstPort: 5060}
	udp6 := testpkt.Spec{Src: a("2001:db8::5"), Dst: a("2001:db8:1::2"), Proto: "udp", SrcPort: 5060, DstPort: 5060}
	return []resizeCase{
		{"tcp4 grows", tcp4, "PORT 10,0,0,5,156,64\r\n", "PORT 192,0,2,1,156,64\r\n", 5, 8, "192,0,2,1"},
		{"tcp4 shrinks", tcp4, "PORT 192,168,100,200,156,64\r\n", "PORT 10,0,0,5,156,64\r\n", 5, 15, "10,0,0,5"},
		{"tcp4 same length", tcp4, "PORT 10,0,0,5,156,64\r\n", "PORT 10,0,0,6,156,64\r\n", 5, 8, "10,0,0,6"},
		{"tcp6 grows at the end", tcp6, "EPRT |2|2001:db8::5|40001|", "EPRT |2|2001:db8::5|40001|\r\n", 26, 0, "\r\n"},
		{"tcp6 to empty", tcp6, "abc", "", 0, 3, ""},
		{"udp4 grows", udp4, "c=IN IP4 10.0.0.5\r\n", "c=IN IP4 203.0.113.200\r\n", 9, 8, "203.0.113.200"},
		{"udp6 shrinks", udp6, "c=IN IP6 2001:db8:aaaa::5\r\n", "c=IN IP6 ::1\r\n", 9, 16, "::1"},
	}
}

func withPayload(s testpkt.Spec, payload string) []byte {
	s.Payload = []byte(payload)
	return testpkt.Build(s)
}

func TestReplacePayloadMatchesFreshPacket(t *testing.T) {
	for _, tc := range resizeCases() {
		for _, room := range []bool{true, false} {
			orig := withPayload(tc.spec, tc.before)
			want := withPayload(tc.spec, tc.after)
			buf := orig[:len(orig):len(orig)]
			if room {
				buf = make([]byte, len(orig), len(orig)+64)
				copy(buf, orig)
			}
			var p Packet
			p.Decode(buf)
			if !p.ReplacePayload(tc.off, tc.n, []byte(tc.rep)) {
				t.Fatalf("%s (room %v): ReplacePayload refused", tc.name, room)
			}
			if got := p.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("%s (room %v):\n got %x\nwant %x", tc.name, room, got, want)
			}
			if string(p.Payload()) != tc.after || p.Length != len(want) || !p.Modified || p.Invalid != OK {
				t.Errorf("%s: after the rewrite the view says payload %q length %d modified %v invalid %v", tc.name, p.Payload(), p.Length, p.Modified, p.Invalid)
			}
			if !p.L4ChecksumOK() || (p.Family == IPv4 && !p.IPv4HeaderChecksumOK()) {
				t.Errorf("%s: checksums wrong after the rewrite", tc.name)
			}
			if inPlace := &p.Bytes()[0] == &buf[0]; inPlace != (room || len(tc.after) <= len(tc.before)) {
				t.Errorf("%s (room %v): rewritten in place %v", tc.name, room, inPlace)
			}
		}
	}
}

func TestReplacePayloadWithRoomDoesNotAllocate(t *testing.T) {
	tc := resizeCases()[0]
	orig := withPayload(tc.spec, tc.before)
	buf := make([]byte, 0, len(orig)+64)
	rep := []byte(tc.rep)
	var p Packet
	allocs := testing.AllocsPerRun(100, func() {
		buf = append(buf[:0], orig...)
		p.Decode(buf)
		if !p.ReplacePayload(tc.off, tc.n, rep) {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Errorf("ReplacePayload allocates %.1f times with room in the buffer", allocs)
	}
}

// A wrong checksum is not kept: the kernel recomputes the whole checksum
// of a packet a helper rewrote (nf_nat_csum_recalc).
func TestReplacePayloadRecomputesTheChecksum(t *testing.T) {
	tc := resizeCases()[0]
	orig := withPayload(tc.spec, tc.before)
	orig[len(orig)-1] ^= 0x20 // corrupt a payload byte: the checksum is now wrong
	var p Packet
	p.Decode(orig)
	p.ReplacePayload(tc.off, tc.n, []byte(tc.rep))
	if !p.L4ChecksumOK() {
		t.Error("the checksum of the rewritten packet is wrong")
	}
}

func TestReplacePayloadKeepsAPartialChecksumPartial(t *testing.T) {
	for _, tc := range resizeCases() {
		partial := func(b []byte) []byte {
			var q Packet
			q.Decode(b)
			at := q.L4Off + 16
			if q.Proto == ProtoUDP {
				at = q.L4Off + 6
			}
			binary.BigEndian.PutUint16(b[at:], fold(q.pseudoSum(q.Proto, q.Length-q.L4Off)))
			return b
		}
		want := partial(withPayload(tc.spec, tc.after))
		var p Packet
		p.Decode(partial(withPayload(tc.spec, tc.before)))
		p.PartialChecksum = true
		p.ReplacePayload(tc.off, tc.n, []byte(tc.rep))
		if !bytes.Equal(p.Bytes(), want) || !p.PartialChecksum {
			t.Errorf("%s: partial checksum\n got %x\nwant %x (partial %v)", tc.name, p.Bytes(), want, p.PartialChecksum)
		}
	}
}

func TestReplacePayloadKeepsNoUDPChecksum(t *testing.T) {
	tc := resizeCases()[5]
	b := withPayload(tc.spec, tc.before)
	var p Packet
	p.Decode(b)
	b[p.L4Off+6], b[p.L4Off+7] = 0, 0
	p.ReplacePayload(tc.off, tc.n, []byte(tc.rep))
	l4 := p.L4()
	if c := binary.BigEndian.Uint16(l4[6:]); c != 0 {
		t.Errorf("UDP checksum %#x after the rewrite, want 0 (none)", c)
	}
	if n := int(binary.BigEndian.Uint16(l4[4:])); n != len(l4) {
		t.Errorf("UDP length %d, want %d", n, len(l4))
	}
}

func TestReplacePayloadRefuses(t *testing.T) {
	a := netip.MustParseAddr
	tcp := testpkt.Spec{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "tcp", SrcPort: 1, DstPort: 2, Flags: "PA", Payload: []byte("hello")}
	icmp := testpkt.Spec{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "icmp", ICMPType: 8, Payload: []byte("hello")}
	big := tcp
	big.Payload = make([]byte, 65000)
	for _, tc := range []struct {
		name   string
		b      []byte
		off, n int
		rep    int
	}{
		{"range past the payload", testpkt.Build(tcp), 3, 3, 1},
		{"negative offset", testpkt.Build(tcp), -1, 1, 1},
		{"not TCP or UDP", testpkt.Build(icmp), 0, 1, 2},
		{"longer than 65535", testpkt.Build(big), 0, 0, 1000},
		{"truncated TCP", testpkt.Truncate(testpkt.Build(tcp), 30), 0, 0, 1},
	} {
		var p Packet
		p.Decode(tc.b)
		before := append([]byte(nil), tc.b...)
		if p.ReplacePayload(tc.off, tc.n, make([]byte, tc.rep)) {
			t.Errorf("%s: ReplacePayload accepted", tc.name)
		}
		if !bytes.Equal(tc.b, before) || p.Modified {
			t.Errorf("%s: a refused rewrite changed the packet", tc.name)
		}
	}
}

func TestInsertTCPMSSMatchesFreshPacket(t *testing.T) {
	a := netip.MustParseAddr
	for _, s := range []testpkt.Spec{
		{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1},
		{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1, HasWScale: true, WScale: 7, SACKPermitted: true},
		{Src: a("2001:db8::5"), Dst: a("2001:db8:1::2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1, Timestamps: true},
	} {
		orig := testpkt.Build(s)
		s.MSS = 536
		want := testpkt.Build(s)
		var p Packet
		p.Decode(append(make([]byte, 0, 100), orig...))
		if !p.InsertTCPMSS(536) {
			t.Fatalf("%v: InsertTCPMSS refused", s.Src)
		}
		if !bytes.Equal(p.Bytes(), want) {
			t.Errorf("%v: got %x\nwant %x", s.Src, p.Bytes(), want)
		}
		if !p.TCPOptions.HasMSS || p.TCPOptions.MSS != 536 {
			t.Errorf("%v: the view does not show the new option", s.Src)
		}
	}
}

func TestInsertTCPMSSRefuses(t *testing.T) {
	a := netip.MustParseAddr
	syn := testpkt.Spec{Src: a("10.0.0.5"), Dst: a("198.51.100.2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S"}
	withMSS, withData := syn, syn
	withMSS.MSS = 1460
	withData.Payload = []byte("x")
	for name, b := range map[string][]byte{"has an MSS": testpkt.Build(withMSS), "carries data": testpkt.Build(withData)} {
		var p Packet
		p.Decode(b)
		if p.InsertTCPMSS(536) {
			t.Errorf("%s: InsertTCPMSS accepted", name)
		}
	}
}
