package nfgo_test

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// A router between a LAN (eth0) and a server network (eth1), with a
// stateful FORWARD chain: Path judges each packet as the kernel's
// forwarding path would, and says which rule decided.
func ExampleEngine_Path() {
	e := nfgo.New(nfgo.Config{Host: nfgo.Host{
		Interfaces: []nfgo.Interface{
			{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
			{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}},
		},
		Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"}},
	}})
	rs, err := iptables.Parse(strings.NewReader(`*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`), packet.IPv4)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.SetRuleset(rs); err != nil {
		fmt.Println(err)
		return
	}
	now := time.Unix(1_700_000_000, 0)
	for _, s := range []testpkt.Spec{
		{Src: netip.MustParseAddr("192.0.2.50"), Dst: netip.MustParseAddr("10.1.2.3"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S"},
		{Src: netip.MustParseAddr("192.0.2.50"), Dst: netip.MustParseAddr("10.1.2.3"), Proto: "tcp", SrcPort: 40001, DstPort: 22, Flags: "S"},
	} {
		var p packet.Packet
		p.Decode(testpkt.Build(s))
		v := e.Path(&p, nfgo.Meta{In: "eth0", Time: now})
		fmt.Printf("port %d: %v, out %s\n", s.DstPort, v, v.Out)
	}
	// Output:
	// port 80: ACCEPT by rule 2 of filter FORWARD, out eth1
	// port 22: DROP by policy of filter FORWARD, out eth1
}

// With FlowOffload, once a connection is established its forwarded
// packets skip the rules, when the ruleset provably accepts them all.
func ExampleConfig_flowOffload() {
	e := nfgo.New(nfgo.Config{FlowOffload: true, Host: nfgo.Host{
		Interfaces: []nfgo.Interface{
			{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
			{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}},
		},
		Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"}},
	}})
	rs, _ := iptables.Parse(strings.NewReader(`*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`), packet.IPv4)
	e.SetRuleset(rs)
	ok, why := e.Program(packet.IPv4).Offload()
	fmt.Printf("offload allowed: %v%s\n", ok, why)

	client, server := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("10.1.2.3")
	now := time.Unix(1_700_000_000, 0)
	for _, s := range []struct {
		spec testpkt.Spec
		in   string
	}{
		{testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100}, "eth0"},
		{testpkt.Spec{Src: server, Dst: client, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101}, "eth1"},
		{testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}, "eth0"},
		{testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "PA", Seq: 101, Ack: 501}, "eth0"},
	} {
		var p packet.Packet
		p.Decode(testpkt.Build(s.spec))
		fmt.Println(e.Path(&p, nfgo.Meta{In: s.in, Time: now}))
	}
	// Output:
	// offload allowed: true
	// ACCEPT by rule 2 of filter FORWARD
	// ACCEPT by rule 1 of filter FORWARD
	// ACCEPT by rule 1 of filter FORWARD
	// ACCEPT: offloaded connection
}
