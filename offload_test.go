package nfgo_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// offloadHost forwards between clients on eth0 and servers on eth1.
var offloadHost = nfgo.Host{Interfaces: []nfgo.Interface{
	{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}},
	{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8"), netip.MustParsePrefix("2001:db8:2::1/64")}},
}, Routes: []nfgo.Route{
	{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"},
	{Dst: netip.MustParsePrefix("2001:db8:2::/64"), Out: "eth1"},
}, DefaultOut: "eth0"}

func offloadEngine(t testing.TB, rules string, offload bool) *nfgo.Engine {
	return offloadEngineFamily(t, rules, packet.IPv4, offload)
}

func offloadEngineFamily(t testing.TB, rules string, family packet.Family, offload bool) *nfgo.Engine {
	t.Helper()
	e := nfgo.New(nfgo.Config{Host: offloadHost, FlowOffload: offload})
	if rules != "" {
		rs, err := iptables.Parse(strings.NewReader(rules), family)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

const (
	statefulRules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A FORWARD -m conntrack --ctstate INVALID -j DROP\n" +
		"-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
		"-A FORWARD -p tcp -m multiport --dports 80,8080 -m conntrack --ctstate NEW -j ACCEPT\n" +
		"-A FORWARD -p udp -m multiport --dports 53,5353 -m state --state NEW -j ACCEPT\nCOMMIT\n"
	// kubeForwardRules is kube-proxy's filter FORWARD (iptables mode): a
	// mark-based ACCEPT before the ESTABLISHED one, and NEW-only jumps.
	kubeForwardRules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		":KUBE-FORWARD - [0:0]\n:KUBE-SERVICES - [0:0]\n" +
		"-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n" +
		"-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n" +
		"-A FORWARD -p tcp -m multiport --dports 80,8080 -m conntrack --ctstate NEW -j ACCEPT\n" +
		"-A FORWARD -p udp -m multiport --dports 53,5353 -m conntrack --ctstate NEW -j ACCEPT\n" +
		"-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n" +
		"-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n" +
		"-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
		"-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n"
	mssRules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
		"-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1300\nCOMMIT\n"
	natRules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
		"-A PREROUTING -d 192.0.2.80/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.2.3:8080\n" +
		"-A PREROUTING -d 192.0.2.80/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.1.2.3:5353\n" +
		"-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1\nCOMMIT\n"
)

// offloadTraffic is a TCP connection's whole life and a UDP exchange,
// forwarded: handshake, data both ways, a retransmission, the close, and
// UDP replies across the 2 s that make it a stream. dst is where the
// client sends; srv and natted are the server and the client as the
// server sees them.
func offloadTraffic(cl, dst, srv, natted netip.Addr, tport, uport uint16) []struct {
	spec testpkt.Spec
	in   string
	at   time.Duration
} {
	type step = struct {
		spec testpkt.Spec
		in   string
		at   time.Duration
	}
	c2s := func(flags string, seq, ack uint32, n int, at time.Duration) step {
		return step{testpkt.Spec{Src: cl, Dst: dst, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: flags, Seq: seq, Ack: ack, Window: 64000, Payload: make([]byte, n)}, "eth0", at}
	}
	s2c := func(flags string, seq, ack uint32, n int, at time.Duration) step {
		return step{testpkt.Spec{Src: srv, Dst: natted, Proto: "tcp", SrcPort: tport, DstPort: 40000, Flags: flags, Seq: seq, Ack: ack, Window: 64000, Payload: make([]byte, n)}, "eth1", at}
	}
	steps := []step{c2s("S", 100, 0, 0, 0), s2c("SA", 500, 101, 0, 0), c2s("A", 101, 501, 0, 0)}
	cseq, sseq := uint32(101), uint32(501)
	for i := range 6 {
		at := time.Duration(i+1) * time.Second
		steps = append(steps, c2s("PA", cseq, sseq, 100, at))
		cseq += 100
		steps = append(steps, s2c("PA", sseq, cseq, 1000, at))
		sseq += 1000
		steps = append(steps, c2s("A", cseq, sseq, 0, at))
	}
	steps = append(steps, s2c("PA", sseq-1000, cseq, 1000, 7*time.Second)) // a retransmission
	steps = append(steps, c2s("FA", cseq, sseq, 0, 8*time.Second), s2c("FA", sseq, cseq+1, 0, 8*time.Second), c2s("A", cseq+1, sseq+1, 0, 8*time.Second))
	for i := range 5 {
		at := time.Duration(i) * 800 * time.Millisecond
		steps = append(steps,
			step{testpkt.Spec{Src: cl, Dst: dst, Proto: "udp", SrcPort: 5000, DstPort: 53, Payload: make([]byte, 40)}, "eth0", at},
			step{testpkt.Spec{Src: srv, Dst: natted, Proto: "udp", SrcPort: uport, DstPort: 5000, Payload: make([]byte, 200)}, "eth1", at})
	}
	return steps
}

func tupleOf(t testing.TB, s testpkt.Spec) conntrack.Tuple {
	t.Helper()
	tp, ok := conntrack.TupleOf(decode(t, s), 0)
	if !ok {
		t.Fatalf("no tuple for %+v", s)
	}
	return tp
}

// TestFlowOffloadForwardsAsTheSlowPathDoes runs the same traffic through
// an engine with flow offload and one without: every packet must get the
// same verdict, leave with the same bytes by the same interface, and
// leave the connections in the same state, timeouts and counters; and
// the offloading engine must have offloaded.
func TestFlowOffloadForwardsAsTheSlowPathDoes(t *testing.T) {
	server, vip, natted := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.80"), netip.MustParseAddr("10.0.0.1")
	client := netip.MustParseAddr("192.0.2.50")
	client6, server6 := netip.MustParseAddr("2001:db8:1::50"), netip.MustParseAddr("2001:db8:2::3")
	for _, tt := range []struct {
		name, rules        string
		family             packet.Family
		client, dst        netip.Addr
		server, natted     netip.Addr
		tport, uport       uint16
		wantOffloadAtLeast int
	}{
		{"empty", "", packet.IPv4, client, server, server, client, 80, 53, 20},
		{"stateful", statefulRules, packet.IPv4, client, server, server, client, 80, 53, 20},
		{"nat", natRules, packet.IPv4, client, vip, server, natted, 8080, 5353, 20},
		{"stateful+nat", statefulRules + natRules, packet.IPv4, client, vip, server, natted, 8080, 5353, 20},
		{"mss clamping+stateful", mssRules + statefulRules, packet.IPv4, client, server, server, client, 80, 53, 20},
		{"kube-proxy's FORWARD", kubeForwardRules, packet.IPv4, client, server, server, client, 80, 53, 20},
		{"ipv6 empty", "", packet.IPv6, client6, server6, server6, client6, 80, 53, 20},
		{"ipv6 stateful", statefulRules, packet.IPv6, client6, server6, server6, client6, 80, 53, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.client
			slow, fast := offloadEngineFamily(t, tt.rules, tt.family, false), offloadEngineFamily(t, tt.rules, tt.family, true)
			base := time.Unix(1_700_000_000, 0)
			offloaded := 0
			for i, s := range offloadTraffic(client, tt.dst, tt.server, tt.natted, tt.tport, tt.uport) {
				b := testpkt.Build(s.spec)
				var ps, pf packet.Packet
				ps.Decode(append([]byte(nil), b...))
				pf.Decode(append([]byte(nil), b...))
				m := nfgo.Meta{In: s.in, Time: base.Add(s.at)}
				vs, vf := slow.Path(&ps, m), fast.Path(&pf, m)
				if vf.Reason == nfgo.ReasonOffload {
					offloaded++
				}
				if vs.Action != vf.Action || vs.Out != vf.Out || vs.CT != vf.CT || vs.CTDir != vf.CTDir || vs.Mark != vf.Mark {
					t.Fatalf("packet %d: slow path %v (out %s, ct %v/%v), offload %v (out %s, ct %v/%v)",
						i, vs, vs.Out, vs.CT, vs.CTDir, vf, vf.Out, vf.CT, vf.CTDir)
				}
				if !bytes.Equal(ps.Bytes(), pf.Bytes()) {
					t.Fatalf("packet %d: slow path emits\n%x\noffload emits\n%x", i, ps.Bytes(), pf.Bytes())
				}
			}
			if offloaded < tt.wantOffloadAtLeast {
				t.Errorf("%d packets offloaded, want at least %d", offloaded, tt.wantOffloadAtLeast)
			}
			end := base.Add(9 * time.Second)
			for _, tp := range []conntrack.Tuple{
				tupleOf(t, testpkt.Spec{Src: client, Dst: tt.dst, Proto: "tcp", SrcPort: 40000, DstPort: 80}),
				tupleOf(t, testpkt.Spec{Src: client, Dst: tt.dst, Proto: "udp", SrcPort: 5000, DstPort: 53}),
			} {
				cs, _, oks := slow.Conntrack().Get(tp, end)
				cf, _, okf := fast.Conntrack().Get(tp, end)
				if tp.Proto == packet.ProtoUDP {
					// The UDP stream is still offloaded: conntrack -L says
					// so where it says ASSURED.
					if line := cf.String(); cf.Status&conntrack.StatusOffload == 0 || !strings.Contains(line, "[OFFLOAD]") || strings.Contains(line, "[ASSURED]") {
						t.Errorf("the offloaded UDP stream lists as %q", line)
					}
				}
				cf.Status &^= conntrack.StatusOffload
				if !oks || !okf || cs.Status != cf.Status || cs.TCPState != cf.TCPState || cs.Timeout != cf.Timeout ||
					cs.Counters != cf.Counters || cs.Reply != cf.Reply {
					t.Errorf("%v: slow path leaves %+v (%v), offload %+v (%v)", tp, cs, oks, cf, okf)
				}
			}
		})
	}
}

// TestFlowOffloadNeedsRulesThatAcceptEveryEstablishedPacket checks the
// ruleset analysis: a ruleset offloads only when it provably accepts
// every established forwarded packet, and otherwise says which rule
// stands in the way; an engine never offloads under such a ruleset.
func TestFlowOffloadNeedsRulesThatAcceptEveryEstablishedPacket(t *testing.T) {
	const filterHead = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	for _, tt := range []struct {
		name, rules string
		want        bool
		why         string // a part of the reason, when not
	}{
		{"no tables", "", true, ""},
		{"accept policy", "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", true, ""},
		{"drop policy", filterHead + "COMMIT\n", false, "policy of established packets is DROP"},
		{"stateful", statefulRules, true, ""},
		{"state match", filterHead + "-A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT\nCOMMIT\n", true, ""},
		{"new rules first", filterHead + "-A FORWARD -p tcp -m tcp --syn -m conntrack --ctstate NEW -j ACCEPT\n" +
			"-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n", true, ""},
		{"through a user chain", filterHead + ":USER - [0:0]\n-A FORWARD -j USER\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
			"-A USER -m conntrack --ctstate INVALID -j DROP\n-A USER -j RETURN\nCOMMIT\n", true, ""},
		{"port rule first", filterHead + "-A FORWARD -p tcp -m tcp --dport 22 -j DROP\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1"},
		{"interface on the accept", filterHead + "-A FORWARD -i eth0 -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1"},
		{"side effect before the state", filterHead + "-A FORWARD -m limit --limit 1/sec -m conntrack --ctstate NEW -j DROP\n" +
			"-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n", false, "filter FORWARD rule 1"},
		{"DNAT pseudo-state", filterHead + "-A FORWARD -m conntrack --ctstate DNAT -j DROP\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1"},
		{"mangle rewrites", "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
			"-A FORWARD -j MARK --set-mark 1\nCOMMIT\n", false, "mangle FORWARD rule 1"},
		{"raw rules", "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -j CT --notrack\nCOMMIT\n", false, "raw PREROUTING"},
		{"nat alone", natRules, true, ""},
		{"MSS clamping", mssRules + statefulRules, true, ""},
		{"kube-proxy's FORWARD", kubeForwardRules, true, ""},
		{"an accept that may not match, then the policy", filterHead + "-A FORWARD -i eth0 -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1: established packets may or may not match it, and those it does not accept get the policy, DROP"},
		{"a drop that may not match", filterHead + "-A FORWARD -o eth1 -j DROP\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1"},
		{"a jump to a chain that only returns", filterHead + ":LOGGING - [0:0]\n-A FORWARD -i eth0 -j LOGGING\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
			"-A LOGGING -m conntrack --ctstate NEW -j DROP\nCOMMIT\n", true, ""},
		{"a RETURN that may not match", filterHead + ":LOGGING - [0:0]\n-A FORWARD -i eth0 -j LOGGING\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
			"-A LOGGING -p tcp -j RETURN\n-A LOGGING -j DROP\nCOMMIT\n", false, "filter LOGGING rule 1"},
		{"a jump to a chain that may accept", filterHead + ":OK - [0:0]\n-A FORWARD -i eth0 -j OK\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
			"-A OK -p tcp -j ACCEPT\nCOMMIT\n", true, ""},
		{"--syn inverted", filterHead + "-A FORWARD -p tcp -m tcp ! --syn -j DROP\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
			false, "filter FORWARD rule 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := offloadEngine(t, tt.rules, true)
			ok, why := true, ""
			if prog := e.Program(packet.IPv4); prog != nil {
				ok, why = prog.Offload()
			}
			if ok != tt.want || !strings.Contains(why, tt.why) {
				t.Fatalf("Offload() = %v, %q; want %v, containing %q", ok, why, tt.want, tt.why)
			}
			if ok {
				return
			}
			// The engine keeps every packet on the slow path.
			now := time.Unix(1_700_000_000, 0)
			cl, srv := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("10.1.2.3")
			ack := testpkt.Spec{Src: cl, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}
			for i, v := range forwardEach(t, e, now, srv,
				testpkt.Spec{Src: cl, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100},
				testpkt.Spec{Src: srv, Dst: cl, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101},
				ack, ack) {
				if v.Reason == nfgo.ReasonOffload {
					t.Fatalf("packet %d offloaded under a ruleset that does not allow it", i)
				}
			}
		})
	}
}

// forwardEach runs packets through e.Path, each from eth1 if server sent
// it and from eth0 if not, and returns their verdicts.
func forwardEach(t testing.TB, e *nfgo.Engine, now time.Time, server netip.Addr, specs ...testpkt.Spec) []nfgo.Verdict {
	t.Helper()
	var vs []nfgo.Verdict
	for _, s := range specs {
		in := "eth0"
		if s.Src == server {
			in = "eth1"
		}
		vs = append(vs, e.Path(decode(t, s), nfgo.Meta{In: in, Time: now}))
	}
	return vs
}

// TestFlowOffloadEndsWithTheRulesThatAllowedIt: once a ruleset that
// cannot offload replaces one that could, an offloaded connection's
// packets are judged by the rules again.
func TestFlowOffloadEndsWithTheRulesThatAllowedIt(t *testing.T) {
	e := offloadEngine(t, statefulRules, true)
	now := time.Unix(1_700_000_000, 0)
	cl, srv := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("10.1.2.3")
	ack := testpkt.Spec{Src: cl, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}
	forwardEach(t, e, now, srv,
		testpkt.Spec{Src: cl, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100},
		testpkt.Spec{Src: srv, Dst: cl, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101},
		ack)
	if v := e.Path(decode(t, ack), nfgo.Meta{In: "eth0", Time: now}); v.Reason != nfgo.ReasonOffload {
		t.Fatalf("the established ACK: %v, want it offloaded", v)
	}
	rs, err := iptables.Parse(strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
		"-A FORWARD -p tcp -m tcp --dport 80 -j DROP\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n"), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	v := e.Path(decode(t, ack), nfgo.Meta{In: "eth0", Time: now})
	if v.Action != filter.Drop || v.Reason != nfgo.ReasonRule || v.Rule != 1 {
		t.Fatalf("after the new rules: %v, want DROP by rule 1 of filter FORWARD", v)
	}
	c, _, _ := e.Conntrack().Get(tupleOf(t, ack), now)
	if c.Status&conntrack.StatusOffload != 0 {
		t.Errorf("status %v: still offloaded after the slow path saw a packet", c.Status)
	}
}

// TestFlowOffloadDoesNotAllocate: the fast path allocates nothing.
func TestFlowOffloadDoesNotAllocate(t *testing.T) {
	e := offloadEngine(t, statefulRules+natRules, true)
	now := time.Unix(1_700_000_000, 0)
	cl, vip, srv, natted := a("192.0.2.50"), a("192.0.2.80"), a("10.1.2.3"), a("10.0.0.1")
	orig := testpkt.Spec{Src: cl, Dst: vip, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}
	reply := testpkt.Spec{Src: srv, Dst: natted, Proto: "tcp", SrcPort: 8080, DstPort: 40000, Flags: "A", Seq: 501, Ack: 101}
	forwardEach(t, e, now, srv,
		testpkt.Spec{Src: cl, Dst: vip, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100},
		testpkt.Spec{Src: srv, Dst: natted, Proto: "tcp", SrcPort: 8080, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101},
		orig)
	for _, tt := range []struct {
		name string
		spec testpkt.Spec
		in   string
	}{{"original", orig, "eth0"}, {"reply", reply, "eth1"}} {
		b := testpkt.Build(tt.spec)
		buf := make([]byte, len(b))
		var p packet.Packet
		var v nfgo.Verdict
		allocs := testing.AllocsPerRun(1000, func() {
			copy(buf, b)
			p.Decode(buf)
			v = e.Path(&p, nfgo.Meta{In: tt.in, Time: now})
		})
		if v.Reason != nfgo.ReasonOffload {
			t.Fatalf("%s: %v, want it offloaded", tt.name, v)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per offloaded packet, want 0", tt.name, allocs)
		}
	}
}

// FuzzFlowOffload sends hostile segments of an established, NATed
// connection through an engine with flow offload and one without: every
// packet gets ACCEPT or DROP, nothing panics, every packet the fast path
// forwards leaves with good checksums, and whenever both engines forward
// a packet (not to the router itself) they emit the same bytes. (They may disagree on whether to:
// the fast path does not track the TCP window.) Each segment is one
// chunk of the input: from (bit 0: the server), flags, seq and ack
// relative to the handshake's (4 bytes each), a payload length.
func FuzzFlowOffload(f *testing.F) {
	f.Add([]byte{0, 0x10, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0x18, 0, 0, 0, 1, 0, 0, 0, 1, 100, 0, 0x11, 0, 0, 0, 1, 0, 0, 0, 101, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		cl, vip, srv, natted := a("192.0.2.50"), a("192.0.2.80"), a("10.1.2.3"), a("10.0.0.1")
		now := time.Unix(1_700_000_000, 0)
		slow, fast := offloadEngine(t, statefulRules+natRules, false), offloadEngine(t, statefulRules+natRules, true)
		hs := []testpkt.Spec{
			{Src: cl, Dst: vip, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100},
			{Src: srv, Dst: natted, Proto: "tcp", SrcPort: 8080, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101},
			{Src: cl, Dst: vip, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501},
		}
		forwardEach(t, slow, now, srv, hs...)
		forwardEach(t, fast, now, srv, hs...)
		conn := tupleOf(t, hs[0])
		// Until the engines disagree about the connection (the fast path
		// takes segments the slow path finds out of window, and after an
		// offload ends the tracker relearns the windows), they must
		// forward alike.
		diverged := false
		for len(in) >= 11 {
			from, flags := in[0], in[1]
			seq, ack := binary.BigEndian.Uint32(in[2:]), binary.BigEndian.Uint32(in[6:])
			payload := make([]byte, int(in[10])*8)
			in = in[11:]
			var b []byte
			var ifc string
			if from&1 != 0 {
				b, ifc = rawTCPPayload(srv, natted, 8080, 40000, 500+seq, 100+ack, flags, payload), "eth1"
			} else {
				b, ifc = rawTCPPayload(cl, vip, 40000, 80, 100+seq, 500+ack, flags, payload), "eth0"
			}
			now = now.Add(time.Millisecond)
			var ps, pf packet.Packet
			ps.Decode(append([]byte(nil), b...))
			pf.Decode(append([]byte(nil), b...))
			vs, vf := slow.Path(&ps, nfgo.Meta{In: ifc, Time: now}), fast.Path(&pf, nfgo.Meta{In: ifc, Time: now})
			if vf.Action != filter.Accept && vf.Action != filter.Drop {
				t.Fatalf("verdict %v", vf)
			}
			if vf.Reason == nfgo.ReasonOffload && (!pf.L4ChecksumOK() || !pf.IPv4HeaderChecksumOK()) {
				t.Fatalf("the fast path emits bad checksums: % x", pf.Bytes())
			}
			// Both forwarded it (a packet the slow path finds INVALID is not
			// de-NATed, and may be delivered to the router itself).
			forwarded := vs.Action == filter.Accept && vf.Action == filter.Accept && vs.Out != "" && vf.Out != ""
			if !diverged && forwarded && !bytes.Equal(ps.Bytes(), pf.Bytes()) {
				t.Fatalf("both forward % x, as\n% x (slow path)\n% x (offload)", b, ps.Bytes(), pf.Bytes())
			}
			cs, _, oks := slow.Conntrack().Get(conn, now)
			cf, _, okf := fast.Conntrack().Get(conn, now)
			if vs.Action != vf.Action || oks != okf || cs.TCPState != cf.TCPState || cs.Reply != cf.Reply ||
				cs.Status&^conntrack.StatusOffload != cf.Status&^conntrack.StatusOffload {
				diverged = true
			}
		}
	})
}

// rawTCPPayload is rawTCP with a payload and no options.
func rawTCPPayload(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags uint8, payload []byte) []byte {
	b := append(rawTCP(src, dst, sport, dport, seq, ack, flags, nil), payload...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	var p packet.Packet
	p.Decode(b)
	p.ComputeChecksums()
	return b
}
