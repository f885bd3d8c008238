package nfgo_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// TestHostBroadcastLeavesByItsInterface: the host's own broadcast to the
// broadcast address of one of its addresses leaves by that address's
// interface, as the kernel's broadcast route sends it, whatever the
// routes say: OUTPUT's -o sees that interface, and the broadcast helpers
// expect the answers from its subnet.
func TestHostBroadcastLeavesByItsInterface(t *testing.T) {
	e := engine(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp -m udp --dport 137 -j CT --helper netbios-ns
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp -m udp --dport 138 -o eth0 -j DROP
COMMIT
`)
	now := time.Unix(1_700_000_000, 0)
	send := func(dst string, dport uint16) nfgo.Verdict {
		p := decode(t, testpkt.Spec{Src: a("192.0.2.1"), Dst: a(dst), Proto: "udp", SrcPort: 40137, DstPort: dport, Payload: []byte("query")})
		return e.Path(p, nfgo.Meta{Time: now})
	}
	if v := send("192.0.2.255", 138); v.Action != filter.Drop || v.Out != "eth0" {
		t.Errorf("broadcast to port 138: got %v out of %q, want DROP by -o eth0", v, v.Out)
	}
	if v := send("203.0.113.1", 138); v.Action != filter.Accept || v.Out != "eth1" {
		t.Errorf("unicast to port 138: got %v out of %q, want ACCEPT out of eth1", v, v.Out)
	}
	if v := send("192.0.2.255", 137); v.Action != filter.Accept || v.Out != "eth0" {
		t.Fatalf("name query: got %v out of %q, want ACCEPT out of eth0", v, v.Out)
	}
	exps := e.Conntrack().Expectations(now)
	if len(exps) != 1 || exps[0].SrcBits != 24 || exps[0].Tuple.SrcPort != 137 || exps[0].Tuple.DstPort != 40137 {
		t.Errorf("expectations after the name query: got %v, want the answers from 192.0.2.0/24 port 137 to port 40137", exps)
	}
}

// A host with many addresses (the index keeps a map beyond a few) knows
// each of them, and their broadcast addresses, as its own.
func TestHostWithManyAddresses(t *testing.T) {
	var addrs []netip.Prefix
	for i := 1; i <= 40; i++ {
		addrs = append(addrs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i), 1}), 24))
	}
	e := nfgo.New(nfgo.Config{Host: nfgo.Host{Interfaces: []nfgo.Interface{{Name: "eth0", Addrs: addrs}}}})
	rs, err := iptables.Parse(strings.NewReader("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dst  string
		want filter.Action // DROP: delivered to the host, whose INPUT drops
	}{
		{"10.9.1.1", filter.Drop}, {"10.9.33.1", filter.Drop}, {"10.9.40.1", filter.Drop},
		{"10.9.33.255", filter.Drop}, {"10.9.33.2", filter.Accept}, {"10.9.41.1", filter.Accept},
	} {
		p := decode(t, testpkt.Spec{Src: a("198.51.100.1"), Dst: a(tc.dst), Proto: "udp", SrcPort: 1, DstPort: 2})
		if v := e.Path(p, nfgo.Meta{In: "eth1", Time: time.Unix(1_700_000_000, 0)}); v.Action != tc.want {
			t.Errorf("to %s: %v, want %v", tc.dst, v.Action, tc.want)
		}
	}
}
