package helpers

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// The name query in these tests: the host 10.0.0.5 (10.0.0.5/24 on its
// interface, broadcast 10.0.0.255) broadcasts from port 40000 to
// 10.0.0.255:137.

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// lan is the route of the host's broadcast to its subnet.
var lan = &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{{Prefix: pfx("10.0.0.5/24"), Broadcast: a("10.0.0.255")}}}

const nbnsExp = "proto=17 src=10.0.0.255 dst=10.0.0.5 sport=137 dport=40000 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=65535 dport=65535" +
	" master-src=10.0.0.5 master-dst=10.0.0.255 sport=40000 dport=137 PERMANENT class=0 helper=netbios-ns"

// nbnsQuery is a NetBIOS name query for "WORKGROUP" (RFC 1002 4.2.12).
const nbnsQuery = "\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20FHEPFCELEHFCEPFFFACACACACACACABN\x00\x00\x20\x00\x01"

func TestNetBIOSNSExpectsTheAnswers(t *testing.T) {
	nbns := New(Config{}).Lookup("netbios-ns", packet.IPv4, packet.ProtoUDP)
	for _, tc := range []struct {
		name   string
		dst    string
		dir    conntrack.Dir
		local  *LocalRoute
		expect bool
	}{
		{name: "the host's broadcast", dst: "10.0.0.255", local: lan, expect: true},
		{name: "a forwarded or received packet", dst: "10.0.0.255"},
		{name: "not routed as a broadcast", dst: "10.0.0.255", local: &LocalRoute{OutAddrs: lan.OutAddrs}},
		{name: "a unicast query", dst: "10.0.0.7", local: &LocalRoute{OutAddrs: lan.OutAddrs}},
		{name: "the reply direction", dst: "10.0.0.255", dir: conntrack.Reply, local: lan},
		{name: "no address with that broadcast", dst: "255.255.255.255", local: &LocalRoute{Broadcast: true, OutAddrs: lan.OutAddrs}},
		{name: "an address with no broadcast address", dst: "10.0.0.255", local: &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{{Prefix: pfx("10.0.0.5/24")}}}},
		{name: "a secondary address is skipped", dst: "10.0.0.255", local: &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{{Prefix: pfx("10.0.0.5/24"), Broadcast: a("10.0.0.255"), Secondary: true}}}},
		{name: "the first primary address that matches", dst: "10.0.0.255", expect: true, local: &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{
			{Prefix: pfx("2001:db8::5/64"), Broadcast: a("10.0.0.255")},
			{Prefix: pfx("10.0.0.6/24"), Broadcast: a("10.0.0.255"), Secondary: true},
			{Prefix: pfx("192.0.2.5/24"), Broadcast: a("192.0.2.255")},
			{Prefix: pfx("10.0.0.5/24"), Broadcast: a("10.0.0.255")},
		}}},
		{name: "a netmask of 0.0.0.0", dst: "255.255.255.255", local: &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{{Prefix: pfx("10.0.0.5/0"), Broadcast: a("255.255.255.255")}}}},
		{name: "a limited broadcast an address has as its own", dst: "255.255.255.255", expect: true, local: &LocalRoute{Broadcast: true, OutAddrs: []InterfaceAddr{{Prefix: pfx("10.0.0.5/24"), Broadcast: a("255.255.255.255")}}}},
	} {
		c := newConn(t, nbns, "udp", a("10.0.0.5"), a("10.0.0.5"), a(tc.dst), 137)
		v := c.sendPacket(tc.dir, c.pkt(tc.dir, "", nbnsQuery), tc.local)
		if v.Drop {
			t.Errorf("%s: dropped: %s", tc.name, v.Reason)
		}
		got := c.expected()
		switch {
		case !tc.expect && len(got) != 0:
			t.Errorf("%s: expectations %q, want none", tc.name, got)
		case tc.expect && (len(got) != 1 || got[0] != strings.ReplaceAll(nbnsExp, "10.0.0.255", tc.dst)):
			t.Errorf("%s: expectations\n got %q\nwant %q", tc.name, got, strings.ReplaceAll(nbnsExp, "10.0.0.255", tc.dst))
		}
		// The query's connection is kept only as long as its answers
		// are awaited (3 s), when it was a broadcast the helper took.
		want := 30 * time.Second
		if tc.expect {
			want = 3 * time.Second
		}
		if got := c.timeout(); got != want {
			t.Errorf("%s: the query's connection has %v left, want %v", tc.name, got, want)
		}
	}
}

// The answers, from any host, are RELATED to the query, as many as
// come (the expectation is permanent), until the timeout.
func TestNetBIOSNSAnswers(t *testing.T) {
	nbns := New(Config{NetBIOSNSTimeout: 5 * time.Second}).Lookup("netbios-ns", packet.IPv4, packet.ProtoUDP)
	c := newConn(t, nbns, "udp", a("10.0.0.5"), a("10.0.0.5"), a("10.0.0.255"), 137)
	c.sendPacket(conntrack.Original, c.pkt(conntrack.Original, "", nbnsQuery), lan)
	if got := c.timeout(); got != 5*time.Second {
		t.Errorf("timeout=5: the query's connection has %v left", got)
	}
	answer := func(from string, sport uint16, at time.Duration) conntrack.State {
		b := testpkt.Build(testpkt.Spec{Src: a(from), Dst: a("10.0.0.5"), SrcPort: sport, DstPort: 40000, Proto: "udp", Payload: []byte("answer")})
		var p packet.Packet
		p.Decode(b)
		var r conntrack.Result
		c.tb.In(&r, &p, 0, t0.Add(at), false)
		c.tb.Confirm(&r)
		return r.State
	}
	for _, tc := range []struct {
		from  string
		sport uint16
		at    time.Duration
		want  conntrack.State
	}{
		{"10.0.0.7", 137, 0, conntrack.Related},
		{"10.0.0.8", 137, time.Second, conntrack.Related},
		{"10.0.0.9", 138, time.Second, conntrack.New}, // not from the name service's port
		// Only the subnet's hosts answer (the expectation's netmask).
		{"192.0.2.1", 137, time.Second, conntrack.New},
		{"10.0.0.10", 137, 6 * time.Second, conntrack.New}, // too late
	} {
		if got := answer(tc.from, tc.sport, tc.at); got != tc.want {
			t.Errorf("an answer from %s:%d after %v is %v, want %v", tc.from, tc.sport, tc.at, got, tc.want)
		}
	}
}

func TestSNMPBroadcast(t *testing.T) {
	snmp := New(Config{}).Lookup("snmp", packet.IPv4, packet.ProtoUDP)
	c := newConn(t, snmp, "udp", a("10.0.0.5"), a("10.0.0.5"), a("10.0.0.255"), 161)
	msg := string(snmpMessage(1, "public", 0xa0, varBind(oidSysName, ber(0x05))))
	if v := c.sendPacket(conntrack.Original, c.pkt(conntrack.Original, "", msg), lan); v.Drop {
		t.Fatalf("dropped: %s", v.Reason)
	}
	want := strings.NewReplacer("sport=137", "sport=161", "dport=137", "dport=161", "netbios-ns", "snmp").Replace(nbnsExp)
	if got := c.expected(); len(got) != 1 || got[0] != want {
		t.Errorf("expectations\n got %q\nwant %q", got, want)
	}
	exps := c.tb.Expectations(t0)
	if got := c.timeout(); got != 30*time.Second || len(exps) != 1 || exps[0].Timeout.Round(time.Second) != 30*time.Second {
		t.Errorf("the query's connection has %v left, its expectation %v; want 30s for both", got, exps)
	}
}

// InterfaceAddrs lays an interface's addresses out as the kernel does.
func TestInterfaceAddrs(t *testing.T) {
	got := InterfaceAddrs([]netip.Prefix{
		pfx("10.0.0.5/24"), pfx("2001:db8::5/64"), pfx("10.0.0.6/24"), pfx("192.0.2.1/30"),
		pfx("10.0.0.7/16"), pfx("10.0.0.5/24"), pfx("198.51.100.1/31"), pfx("203.0.113.9/32"),
	})
	want := []InterfaceAddr{
		{Prefix: pfx("10.0.0.5/24"), Broadcast: a("10.0.0.255")},
		{Prefix: pfx("192.0.2.1/30"), Broadcast: a("192.0.2.3")},
		{Prefix: pfx("10.0.0.7/16"), Broadcast: a("10.0.255.255")},
		{Prefix: pfx("198.51.100.1/31")},
		{Prefix: pfx("203.0.113.9/32")},
		{Prefix: pfx("10.0.0.6/24"), Broadcast: a("10.0.0.255"), Secondary: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("address %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
