package filter

import (
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestRejectTCPResetAcksSynPlusPayload(t *testing.T) {
	orig := tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 80, packet.TCPSyn, 1000, 0, nil, []byte("hello"))
	c := &Context{Packet: orig, Hook: Input}
	v := (&RejectTarget{With: RejectTCPReset}).Do(c)
	if v.Action != Drop {
		t.Fatalf("verdict = %v, want DROP", v.Action)
	}
	if c.Response() == nil {
		t.Fatal("no RST built")
	}
	var r packet.Packet
	r.Decode(c.Response())
	if r.Invalid != packet.OK || !r.IPv4HeaderChecksumOK() || !r.L4ChecksumOK() {
		t.Fatalf("response invalid or bad checksums: %v", r.Invalid)
	}
	got := [...]any{r.Src(), r.Dst(), r.SrcPort, r.DstPort, r.TCPFlags, r.Seq, r.Ack, r.TTL}
	want := [...]any{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"), uint16(80), uint16(40000),
		uint8(packet.TCPRst | packet.TCPAck), uint32(0), uint32(1000 + 1 + 5), uint8(64)}
	if got != want {
		t.Errorf("RST = %v, want %v", got, want)
	}
}

func TestRejectTCPResetUsesAckAsSeq(t *testing.T) {
	orig := tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 80, packet.TCPAck, 1000, 777, nil, nil)
	c := &Context{Packet: orig}
	(&RejectTarget{With: RejectTCPReset}).Do(c)
	var r packet.Packet
	r.Decode(c.Response())
	if r.TCPFlags != packet.TCPRst || r.Seq != 777 {
		t.Errorf("flags %#x seq %d, want RST only with seq 777", r.TCPFlags, r.Seq)
	}
}

func TestRejectSendsNothing(t *testing.T) {
	bad := tcp4(t, "10.0.0.1", "10.0.0.2", 1, 2, packet.TCPSyn, 1, 0, nil, nil)
	bad.Bytes()[36]++ // corrupt the TCP checksum
	rst := tcp4(t, "10.0.0.1", "10.0.0.2", 1, 2, packet.TCPRst, 1, 0, nil, nil)
	mcast := udp4(t, "10.0.0.1", "224.0.0.1", 1, 2, nil)
	for _, tc := range []struct {
		name string
		with RejectType
		p    *packet.Packet
	}{
		{"reset to a bad checksum", RejectTCPReset, bad},
		{"reset to a reset", RejectTCPReset, rst},
		{"reset to UDP", RejectTCPReset, udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, nil)},
		{"unreachable to multicast", RejectICMPPortUnreachable, mcast},
		{"unreachable to a bad checksum", RejectICMPPortUnreachable, bad},
	} {
		c := &Context{Packet: tc.p}
		if v := (&RejectTarget{With: tc.with}).Do(c); v.Action != Drop || c.Response() != nil {
			t.Errorf("%s: verdict %v, response %d bytes; want DROP and nothing", tc.name, v.Action, len(c.Response()))
		}
	}
}

func TestRejectPortUnreachableQuotesOriginal(t *testing.T) {
	orig := udp4(t, "10.0.0.1", "192.0.2.9", 5353, 53, []byte("query"))
	for _, tc := range []struct {
		name string
		env  Env
		src  string
	}{
		{"no env: original destination", nil, "192.0.2.9"},
		{"forwarded: interface address", fakeEnv{local: netip.MustParseAddr("10.0.0.254")}, "10.0.0.254"},
	} {
		c := &Context{Packet: orig, In: "eth0", Env: tc.env}
		(&RejectTarget{}).Do(c)
		var r packet.Packet
		r.Decode(c.Response())
		if r.Invalid != packet.OK || !r.L4ChecksumOK() {
			t.Fatalf("%s: bad response", tc.name)
		}
		got := [...]any{r.Src().String(), r.Dst().String(), r.ICMPType, r.ICMPCode, r.TTL}
		want := [...]any{tc.src, "10.0.0.1", uint8(3), uint8(3), uint8(64)}
		if got != want {
			t.Errorf("%s: got %v, want %v", tc.name, got, want)
		}
		var inner packet.Packet
		if !r.Embedded(&inner) || inner.DstPort != 53 {
			t.Errorf("%s: response does not quote the original", tc.name)
		}
	}
}

func TestRejectCheckRuleNeedsTCPForReset(t *testing.T) {
	for _, tc := range []struct {
		h    Header
		with RejectType
		ok   bool
	}{
		{Header{Proto: packet.ProtoTCP}, RejectTCPReset, true},
		{Header{Proto: packet.ProtoTCP, ProtoInvert: true}, RejectTCPReset, false},
		{Header{Proto: packet.ProtoUDP}, RejectTCPReset, false},
		{Header{}, RejectTCPReset, false},
		{Header{}, RejectICMPHostProhibited, true},
	} {
		err := (&RejectTarget{With: tc.with}).CheckRule(&Rule{Header: tc.h}, Site{Table: Filter, Hooks: Hooks(Input)})
		if (err == nil) != tc.ok {
			t.Errorf("%+v %v: err = %v, want ok=%v", tc.h, tc.with, err, tc.ok)
		}
	}
}

func TestRejectDoesNotAllocate(t *testing.T) {
	orig := tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 80, packet.TCPSyn, 1000, 0, nil, nil)
	c := &Context{Packet: orig, ResponseBuf: make([]byte, 0, 1500)}
	tg := &RejectTarget{With: RejectTCPReset}
	if n := testing.AllocsPerRun(100, func() { c.ResponseBuf = c.ResponseBuf[:0]; tg.Do(c) }); n != 0 {
		t.Errorf("Do allocates %v times", n)
	}
}
