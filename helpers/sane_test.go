package helpers

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// saneStateOf returns the SANE state kept in a connection's helper data.
func saneStateOf(d *[conntrack.HelpDataSize]byte) uint32 { return binary.LittleEndian.Uint32(d[:4]) }

// saneRequest is a request of RPC code code for handle 1.
func saneRequest(code uint32) string {
	var b [8]byte
	binary.BigEndian.PutUint32(b[0:], code)
	binary.BigEndian.PutUint32(b[4:], 1)
	return string(b[:])
}

// saneReply is a SANE_NET_START reply: status, the zero field, the port
// and the rest (the byte order, the resource name).
func saneReply(status uint32, zero, port uint16, rest string) string {
	var b [8]byte
	binary.BigEndian.PutUint32(b[0:], status)
	binary.BigEndian.PutUint16(b[4:], zero)
	binary.BigEndian.PutUint16(b[6:], port)
	return string(b[:]) + rest
}

func TestSANEStartReplies(t *testing.T) {
	sane := New(Config{}).Lookup("sane", packet.IPv4, packet.ProtoTCP)
	start := saneRequest(saneNetStart)
	ok := saneReply(0, 0, 50000, "\x00\x00\x04\xd2\x00\x00\x00\x00")
	const exp50000 = "proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535" +
		" master-src=10.0.0.5 master-dst=203.0.113.5 sport=40000 dport=6566 class=0 helper=sane"
	type msg struct {
		d       conntrack.Dir
		payload string
	}
	req := func(p string) msg { return msg{conntrack.Original, p} }
	rep := func(p string) msg { return msg{conntrack.Reply, p} }
	for _, tc := range []struct {
		name   string
		msgs   []msg
		expect string // "" for none
		state  uint32 // after the messages
	}{
		{name: "start and its reply", msgs: []msg{req(start), rep(ok)}, expect: exp50000},
		{name: "a reply of exactly 8 bytes", msgs: []msg{req(start), rep(saneReply(0, 0, 50000, ""))}, expect: exp50000},
		{name: "port 0 is expected as it is", msgs: []msg{req(start), rep(saneReply(0, 0, 0, ""))}, expect: strings.Replace(exp50000, "dport=50000", "dport=0", 1)},
		{name: "a start request waits for the reply", msgs: []msg{req(start)}, state: saneStartRequested},
		{name: "an empty segment of the server's keeps the wait", msgs: []msg{req(start), rep(""), rep(ok)}, expect: exp50000},
		{name: "saned refused", msgs: []msg{req(start), rep(saneReply(1, 0, 50000, ""))}},
		{name: "the zero field is not zero", msgs: []msg{req(start), rep(saneReply(0, 1, 50000, ""))}},
		{name: "a short reply ends the wait", msgs: []msg{req(start), rep("\x00\x00\x00\x00\x00\x00\xc3"), rep(ok)}},
		{name: "a refused reply ends the wait", msgs: []msg{req(start), rep(saneReply(4, 0, 1, "")), rep(ok)}},
		{name: "a reply with no request", msgs: []msg{rep(ok)}},
		{name: "another request forgets the start", msgs: []msg{req(start), req(saneRequest(8)), rep(ok)}},
		{name: "a longer segment is no request", msgs: []msg{req(start + "\x00\x00\x00\x00"), rep(ok)}},
		{name: "a longer segment does not forget the start", msgs: []msg{req(start), req(start + "\x00"), rep(ok)}, expect: exp50000},
		{name: "a shorter segment is no request", msgs: []msg{req(start[:7]), rep(ok)}},
		{name: "a start request from the server is not one", msgs: []msg{rep(start), rep(ok)}},
		{name: "the client's reply is not read, but is another request", msgs: []msg{req(start), req(saneReply(0, 0, 50000, ""))}},
		{name: "the client's longer reply is nothing", msgs: []msg{req(start), req(ok)}, state: saneStartRequested},
	} {
		c := newConn(t, sane, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 6566)
		for _, m := range tc.msgs {
			if v, p := c.send(m.d, m.payload); v.Drop || string(p.Payload()) != m.payload {
				t.Errorf("%s: %q: verdict %+v, payload %q", tc.name, m.payload, v, p.Payload())
			}
		}
		var want []string
		if tc.expect != "" {
			want = []string{tc.expect}
		}
		if got := c.expected(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: expectations\n got %q\nwant %q", tc.name, got, want)
		}
		if got := saneStateOf(&c.data); got != tc.state {
			t.Errorf("%s: state %d, want %d", tc.name, got, tc.state)
		}
	}
}

// Until traffic has gone both ways the helper reads nothing: a start
// request on the SYN (ctinfo NEW) is not remembered.
func TestSANEWaitsForEstablished(t *testing.T) {
	sane := New(Config{}).Lookup("sane", packet.IPv4, packet.ProtoTCP)
	tb := conntrack.NewTable(conntrack.Config{})
	b := testpkt.Build(testpkt.Spec{Src: a("10.0.0.5"), Dst: a("203.0.113.5"), SrcPort: 40000, DstPort: 6566, Proto: "tcp", Flags: "S", Seq: 1, Payload: []byte(saneRequest(saneNetStart))})
	var p packet.Packet
	p.Decode(b)
	var r conntrack.Result
	tb.In(&r, &p, 0, t0, false)
	if !tb.SetHelper(&r, sane) {
		t.Fatal("SetHelper")
	}
	var data [conntrack.HelpDataSize]byte
	if v := sane.Help(&Call{Packet: &p, CT: &r, Table: tb, Now: t0, Data: &data}); v.Drop || saneStateOf(&data) != saneNormal {
		t.Errorf("verdict %+v, state %d: want nothing done", v, saneStateOf(&data))
	}
}

// When the data port is expected already, the reply is dropped.
func TestSANECannotExpect(t *testing.T) {
	sane := New(Config{}).Lookup("sane", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, sane, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 6566)
	takePort(t, c, 50000)
	c.send(conntrack.Original, saneRequest(saneNetStart))
	if v, _ := c.send(conntrack.Reply, saneReply(0, 0, 50000, "")); !v.Drop || v.Reason != "cannot add expectation" {
		t.Errorf("verdict %+v, want drop: cannot add expectation", v)
	}
}

func TestSANEIPv6AndNAT(t *testing.T) {
	for _, tc := range []struct {
		fam                    packet.Family
		client, public, server string
		want                   string
	}{
		{packet.IPv6, "2001:db8::5", "2001:db8::5", "2001:db8:1::5", "proto=6 src=2001:db8::5 dst=2001:db8:1::5 sport=0 dport=50000 "},
		// There is no NAT helper: the expectation is of the client's
		// own (original) addresses, and the reply is left as it is.
		{packet.IPv4, "10.0.0.5", "198.51.100.7", "203.0.113.5", "proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=50000 "},
	} {
		sane := New(Config{}).Lookup("sane", tc.fam, packet.ProtoTCP)
		c := newConn(t, sane, "tcp", a(tc.client), a(tc.public), a(tc.server), 6566)
		c.send(conntrack.Original, saneRequest(saneNetStart))
		reply := saneReply(0, 0, 50000, "")
		if _, p := c.send(conntrack.Reply, reply); string(p.Payload()) != reply {
			t.Errorf("%v: the reply was rewritten: %q", tc.fam, p.Payload())
		}
		if got := c.expected(); len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%v: expectations %q, want one starting %q", tc.fam, got, tc.want)
		}
	}
}
