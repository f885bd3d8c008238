package nfgo_test

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// natRouter is a router with a LAN on eth0 (192.0.2.1/24) and a public
// address on eth1 (198.51.100.1/24).
var natRouter = nfgo.Host{
	Interfaces: []nfgo.Interface{
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}},
	},
	Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("192.0.2.0/24"), Out: "eth0"}},
}

func natEngine(t *testing.T, rules string) *nfgo.Engine {
	t.Helper()
	e := nfgo.New(nfgo.Config{Host: natRouter})
	rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	return e
}

// through runs a packet through the router and returns it as it leaves.
func through(t *testing.T, e *nfgo.Engine, s testpkt.Spec, in string, at time.Time) (*packet.Packet, nfgo.Verdict) {
	t.Helper()
	var p packet.Packet
	p.Decode(testpkt.Build(s))
	v := e.Path(&p, nfgo.Meta{In: in, Time: at})
	if v.Action == filter.Accept {
		if !p.IPv4HeaderChecksumOK() || !p.L4ChecksumOK() {
			t.Errorf("%v → %v: checksums wrong after NAT", s.Src, s.Dst)
		}
	}
	return &p, v
}

func TestMasqueradeRewritesBothDirections(t *testing.T) {
	e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n")
	t0 := time.Unix(1_700_000_000, 0)
	p, v := through(t, e, testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S", Seq: 1}, "eth0", t0)
	if v.Action != filter.Accept || v.CT != conntrack.New {
		t.Fatalf("SYN: %v (%v)", v, v.CT)
	}
	if p.Src() != a("198.51.100.1") || p.SrcPort != 40000 || p.Dst() != a("203.0.113.5") {
		t.Errorf("SYN leaves as %v:%d → %v, want 198.51.100.1:40000 → 203.0.113.5", p.Src(), p.SrcPort, p.Dst())
	}
	// The answer comes to the public address and is un-NATed to the
	// client.
	p, v = through(t, e, testpkt.Spec{Src: a("203.0.113.5"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 443, DstPort: 40000, Flags: "SA", Seq: 9, Ack: 2}, "eth1", t0)
	if v.Action != filter.Accept || v.CT != conntrack.Established || v.CTDir != conntrack.Reply {
		t.Fatalf("SYN/ACK: %v (%v %v)", v, v.CT, v.CTDir)
	}
	if p.Dst() != a("192.0.2.10") || p.DstPort != 40000 || p.Src() != a("203.0.113.5") {
		t.Errorf("SYN/ACK leaves as %v → %v:%d, want 203.0.113.5 → 192.0.2.10:40000", p.Src(), p.Dst(), p.DstPort)
	}
	// The table lists the binding.
	var c conntrack.Conn
	for c = range e.Conntrack().All(t0) {
	}
	if c.Status&conntrack.StatusSrcNAT == 0 || c.Reply.DstAddr() != a("198.51.100.1") {
		t.Errorf("table: %v", c)
	}
}

func TestDNATPortForwardBothDirections(t *testing.T) {
	e := natEngine(t, `*nat
-A PREROUTING -i eth1 -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.20:80
COMMIT
`)
	t0 := time.Unix(1_700_000_000, 0)
	p, v := through(t, e, testpkt.Spec{Src: a("203.0.113.5"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 50000, DstPort: 8080, Flags: "S", Seq: 1}, "eth1", t0)
	if v.Action != filter.Accept || v.Out != "eth0" {
		t.Fatalf("SYN: %v, out %q (want routed to eth0 after DNAT)", v, v.Out)
	}
	if p.Dst() != a("192.0.2.20") || p.DstPort != 80 {
		t.Errorf("SYN leaves for %v:%d, want 192.0.2.20:80", p.Dst(), p.DstPort)
	}
	p, v = through(t, e, testpkt.Spec{Src: a("192.0.2.20"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 80, DstPort: 50000, Flags: "SA", Seq: 9, Ack: 2}, "eth0", t0)
	if v.Action != filter.Accept || v.CTDir != conntrack.Reply {
		t.Fatalf("SYN/ACK: %v", v)
	}
	if p.Src() != a("198.51.100.1") || p.SrcPort != 8080 {
		t.Errorf("SYN/ACK leaves from %v:%d, want 198.51.100.1:8080", p.Src(), p.SrcPort)
	}
}

func TestSNATPortClashesAreResolved(t *testing.T) {
	// Two clients use the same source port to the same server: the
	// second gets another port on the shared address.
	e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -j SNAT --to-source 198.51.100.1\nCOMMIT\n")
	t0 := time.Unix(1_700_000_000, 0)
	seen := map[uint16]bool{}
	for _, client := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		p, v := through(t, e, testpkt.Spec{Src: a(client), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53}, "eth0", t0)
		if v.Action != filter.Accept || p.Src() != a("198.51.100.1") {
			t.Fatalf("%s: %v, source %v", client, v, p.Src())
		}
		if seen[p.SrcPort] {
			t.Errorf("%s: port %d reused: the reply tuples would clash", client, p.SrcPort)
		}
		seen[p.SrcPort] = true
	}
	if !seen[5000] {
		t.Error("the first client did not keep its port")
	}
}

func TestNATRewriteOfEstablishedFlowsDoesNotAllocate(t *testing.T) {
	e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n")
	t0 := time.Unix(1_700_000_000, 0)
	through(t, e, testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53}, "eth0", t0)
	b := testpkt.Build(testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53})
	buf := make([]byte, len(b))
	var p packet.Packet
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, b)
		p.Decode(buf)
		e.Path(&p, nfgo.Meta{In: "eth0", Time: t0})
	})
	if allocs != 0 {
		t.Errorf("NAT of an established flow: %v allocations per packet, want 0", allocs)
	}
}

func TestNATExhaustionDropsAndCounts(t *testing.T) {
	// One address and one port: the second client to the same server
	// has no free tuple left.
	e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -p udp -j SNAT --to-source 198.51.100.1:7000\nCOMMIT\n")
	t0 := time.Unix(1_700_000_000, 0)
	_, v := through(t, e, testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53}, "eth0", t0)
	if v.Action != filter.Accept {
		t.Fatalf("first client: %v", v)
	}
	_, v = through(t, e, testpkt.Spec{Src: a("192.0.2.11"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53}, "eth0", t0)
	if v.Action != filter.Drop || v.Reason != nfgo.ReasonNAT {
		t.Errorf("second client: %v, want DROP by NAT", v)
	}
	if n := e.NATDrops(); n != 1 {
		t.Errorf("NATDrops = %d, want 1", n)
	}
	if n := e.Conntrack().Len(); n != 1 {
		t.Errorf("%d connections, want 1: the dropped packet's is not confirmed", n)
	}
}

// TestMasqueradeConnectionsGoWithTheirAddress changes the public address
// under a masqueraded connection, as a DHCP renewal does: the kernel
// forgets the connection, so the client's next packet starts a new one
// from the new address instead of leaving from an address the host no
// longer has. SNAT connections and other interfaces are not touched.
func TestMasqueradeConnectionsGoWithTheirAddress(t *testing.T) {
	e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -p udp --dport 53 -j SNAT --to-source 198.51.100.1\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n")
	t0 := time.Unix(1_700_000_000, 0)
	masq := testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 40000, DstPort: 443}
	snat := testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 40001, DstPort: 53}
	for _, s := range []testpkt.Spec{masq, snat} {
		if p, v := through(t, e, s, "eth0", t0); v.Action != filter.Accept || p.Src() != a("198.51.100.1") {
			t.Fatalf("%d: %v, source %v", s.DstPort, v, p.Src())
		}
	}
	// An address added elsewhere changes nothing.
	moved := natRouter
	moved.Interfaces = []nfgo.Interface{natRouter.Interfaces[0],
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24"), netip.MustParsePrefix("198.51.100.77/24")}}}
	if n := e.SetHost(moved, t0); n != 0 {
		t.Errorf("adding an address flushed %d connections, want 0", n)
	}
	// eth1's first address goes: the masqueraded connection goes with
	// it, the SNAT one stays.
	moved.Interfaces = []nfgo.Interface{natRouter.Interfaces[0],
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.77/24")}}}
	if n := e.SetHost(moved, t0.Add(time.Second)); n != 1 {
		t.Errorf("removing the address flushed %d connections, want 1", n)
	}
	if got := e.Conntrack().Len(); got != 1 {
		t.Errorf("%d connections left, want the SNAT one", got)
	}
	p, v := through(t, e, masq, "eth0", t0.Add(2*time.Second))
	if v.CT != conntrack.New || p.Src() != a("198.51.100.77") {
		t.Errorf("next packet: %v from %v, want NEW from the new address 198.51.100.77", v.CT, p.Src())
	}
	// eth1 goes away altogether: every masqueraded connection on it goes.
	moved.Interfaces = moved.Interfaces[:1]
	if n := e.SetHost(moved, t0.Add(3*time.Second)); n != 1 {
		t.Errorf("removing eth1 flushed %d connections, want 1", n)
	}
}

// TestConcurrentFirstPacketsNeverShareABinding sets up connections from
// several goroutines at once through a range of 64 ports, as many as
// there are connections, round after round: however their first packets
// interleave, every connection gets a port of its own and none is
// dropped, where the kernel drops the loser of such a race at
// confirmation.
func TestConcurrentFirstPacketsNeverShareABinding(t *testing.T) {
	const workers, flows, rounds = 4, 16, 40
	for round := range rounds {
		e := natEngine(t, "*nat\n-A POSTROUTING -o eth1 -p udp -j SNAT --to-source 198.51.100.1:5000-5063\nCOMMIT\n")
		t0 := time.Unix(1_700_000_000, 0)
		var wg sync.WaitGroup
		ports := make([][]uint16, workers)
		start := make(chan struct{})
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range flows {
					client := netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + w*flows + i)})
					var p packet.Packet
					p.Decode(testpkt.Build(testpkt.Spec{Src: client, Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 5000, DstPort: 53}))
					v := e.Path(&p, nfgo.Meta{In: "eth0", Time: t0})
					if v.Action != filter.Accept {
						t.Errorf("round %d worker %d flow %d: %v", round, w, i, v)
						return
					}
					ports[w] = append(ports[w], p.SrcPort)
				}
			}()
		}
		close(start)
		wg.Wait()
		seen := map[uint16]bool{}
		for w := range workers {
			for _, port := range ports[w] {
				if seen[port] {
					t.Fatalf("round %d: two connections share public port %d", round, port)
				}
				seen[port] = true
			}
		}
		if d := e.NATDrops(); d != 0 {
			t.Fatalf("round %d: %d NAT drops, want 0", round, d)
		}
		if s := e.Conntrack().Stats(); s.InsertFailed != 0 || s.Entries != workers*flows {
			t.Fatalf("round %d: %d entries, %d insert failures; want %d and 0", round, s.Entries, s.InsertFailed, workers*flows)
		}
	}
}

// TestNewNATConnectionDoesNotAllocate: a new connection DNATed and
// MASQUERADEd (--random-fully) costs no allocation once the tables
// have grown: the extensions live in a slab and a source's NAT
// bindings in place.
func TestNewNATConnectionDoesNotAllocate(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items); .ci/run checks them without it")
	}
	host := nfgo.Host{Interfaces: []nfgo.Interface{
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.244.255.254/16")}},
	}, Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.244.0.0/16"), Out: "eth1"}}, DefaultOut: "eth0"}
	rs, err := iptables.Parse(strings.NewReader(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.0.5:8080
-A POSTROUTING -o eth1 -j MASQUERADE --random-fully
COMMIT
`), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	e := nfgo.New(nfgo.Config{Host: host})
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	syn := testpkt.Build(testpkt.Spec{Src: a("192.0.2.50"), Dst: a("10.96.0.1"), Proto: "tcp", SrcPort: 1, DstPort: 80, Flags: "S", Seq: 1})
	buf := make([]byte, len(syn))
	now := time.Unix(1_700_000_000, 0)
	var p packet.Packet
	port := 1000
	run := func() {
		port++
		copy(buf, syn)
		buf[20], buf[21] = byte(port>>8), byte(port)
		p.Decode(buf)
		p.ComputeChecksums()
		if v := e.Path(&p, nfgo.Meta{In: "eth0", Time: now}); v.Action != filter.Accept || p.Dst() != a("10.244.0.5") {
			t.Fatalf("%v, to %v", v, p.Dst())
		}
	}
	for range 5000 {
		run() // grow the tables
	}
	if n := testing.AllocsPerRun(2000, run); n != 0 {
		t.Errorf("%v allocations per new NATed connection, want 0", n)
	}
}

// TestDNATClashMovesTheSourcePort: one client port reaches two
// forwarded ports that DNAT to the same server, so both connections
// would have the same reply tuple. As in the kernel, the second one's
// null source binding gives it another source port (get_unique_tuple),
// and both connections work in both directions.
func TestDNATClashMovesTheSourcePort(t *testing.T) {
	e := natEngine(t, `*nat
-A PREROUTING -i eth1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.20:80
-A PREROUTING -i eth1 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 192.0.2.20:80
COMMIT
`)
	t0 := time.Unix(1_700_000_000, 0)
	var sports []uint16
	for _, dport := range []uint16{8080, 8081} {
		p, v := through(t, e, testpkt.Spec{Src: a("203.0.113.5"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 50000, DstPort: dport, Flags: "S", Seq: 1}, "eth1", t0)
		if v.Action != filter.Accept || p.Dst() != a("192.0.2.20") || p.DstPort != 80 {
			t.Fatalf("SYN to %d: %v, leaves for %v:%d", dport, v, p.Dst(), p.DstPort)
		}
		sports = append(sports, p.SrcPort)
	}
	if sports[0] != 50000 || sports[1] == 50000 {
		t.Fatalf("source ports after DNAT: %v, want 50000 and another", sports)
	}
	for i, dport := range []uint16{8080, 8081} {
		p, v := through(t, e, testpkt.Spec{Src: a("192.0.2.20"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 80, DstPort: sports[i], Flags: "SA", Seq: 9, Ack: 2}, "eth0", t0)
		if v.Action != filter.Accept || v.CTDir != conntrack.Reply || p.SrcPort != dport || p.DstPort != 50000 {
			t.Errorf("SYN/ACK to port %d: %v, leaves %d → %d, want %d → 50000", sports[i], v, p.SrcPort, p.DstPort, dport)
		}
	}
}
