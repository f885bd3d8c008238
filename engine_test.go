package nfgo_test

import (
	"errors"
	"fmt"
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

var (
	routerHost = nfgo.Host{
		Interfaces: []nfgo.Interface{{Name: "eth0", Addrs: []netip.Prefix{
			netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8::1/64"),
		}}},
		Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth2"}},
	}
	a = netip.MustParseAddr
)

func engine(t testing.TB, rules string) *nfgo.Engine {
	t.Helper()
	e := nfgo.New(nfgo.Config{Host: routerHost})
	if rules != "" {
		rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func decode(t testing.TB, s testpkt.Spec) *packet.Packet {
	t.Helper()
	var p packet.Packet
	p.Decode(testpkt.Build(s))
	if p.Invalid != packet.OK {
		t.Fatalf("test packet is invalid: %v", p.Invalid)
	}
	return &p
}

// pathRules drops in each chain a packet aimed at it by destination port,
// so the deciding chain shows which path the engine took.
const pathRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -s 198.18.0.0/16 -j DROP
-A FORWARD -p udp -o eth2 -j DROP
-A FORWARD -p udp -i eth0 -o eth1 -s 198.18.0.0/16 -j DROP
-A OUTPUT -p udp -o eth1 -j DROP
COMMIT
`

func TestPathTakesTheKernelsRoute(t *testing.T) {
	tests := []struct {
		name      string
		src, dst  string
		ttl       uint8
		wantChain string
		wantOut   string
		wantTTL   uint8
	}{
		{name: "to the host goes to INPUT", src: "198.18.0.1", dst: "192.0.2.1", wantChain: "INPUT"},
		{name: "to the subnet broadcast goes to INPUT", src: "198.18.0.1", dst: "192.0.2.255", wantChain: "INPUT"},
		{name: "through the host goes to FORWARD with TTL decremented", src: "198.18.0.1", dst: "203.0.113.1", ttl: 9, wantChain: "FORWARD", wantOut: "eth1", wantTTL: 8},
		{name: "routes pick the output interface", src: "198.19.0.1", dst: "10.1.2.3", wantChain: "FORWARD", wantOut: "eth2"},
		{name: "from the host starts at OUTPUT", src: "192.0.2.1", dst: "203.0.113.1", wantChain: "OUTPUT", wantOut: "eth1"},
	}
	e := engine(t, pathRules)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decode(t, testpkt.Spec{Src: a(tt.src), Dst: a(tt.dst), Proto: "udp", SrcPort: 1, DstPort: 2, TTL: tt.ttl})
			v := e.Path(p, nfgo.Meta{In: "eth0"})
			if v.Action != filter.Drop || v.Chain == nil || v.Chain.Name != tt.wantChain {
				t.Fatalf("got %v, want DROP in %s", v, tt.wantChain)
			}
			if v.Out != tt.wantOut {
				t.Errorf("out interface: got %q, want %q", v.Out, tt.wantOut)
			}
			if tt.wantTTL != 0 && p.TTL != tt.wantTTL {
				t.Errorf("TTL: got %d, want %d", p.TTL, tt.wantTTL)
			}
			if tt.wantTTL != 0 && !p.IPv4HeaderChecksumOK() {
				t.Error("header checksum wrong after the TTL decrement")
			}
		})
	}
}

func TestPathDropsWhatIPReceiveDrops(t *testing.T) {
	e := engine(t, "")
	good := testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	var p packet.Packet

	bad := append([]byte(nil), good...)
	bad[10] ^= 0xff // IPv4 header checksum
	p.Decode(bad)
	if v := e.Path(&p, nfgo.Meta{In: "eth0"}); v.Action != filter.Drop || v.Reason != nfgo.ReasonBadChecksum {
		t.Errorf("bad header checksum: got %v, want DROP for the checksum", v)
	}
	p.Decode(good[:12])
	if v := e.Path(&p, nfgo.Meta{In: "eth0"}); v.Action != filter.Drop || v.Reason != nfgo.ReasonMalformed {
		t.Errorf("truncated header: got %v, want DROP as malformed", v)
	}
	p.Decode(testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.1"), Proto: "udp", SrcPort: 1, DstPort: 2, TTL: 1}))
	if v := e.Path(&p, nfgo.Meta{In: "eth0"}); v.Action != filter.Drop || v.Reason != nfgo.ReasonTTL {
		t.Errorf("TTL 1 forwarded: got %v, want DROP for the TTL", v)
	}
	p.Decode(good)
	if v := e.Path(&p, nfgo.Meta{In: "eth0"}); v.Action != filter.Accept || v.Reason != nfgo.ReasonNoRules {
		t.Errorf("no rules: got %v, want ACCEPT with no rules", v)
	}
}

// orderTarget appends its table to a shared log and continues, to show
// the order tables run in.
type orderTarget struct {
	log *[]string
	tag string
}

func (o orderTarget) Do(*filter.Context) filter.Verdict {
	*o.log = append(*o.log, o.tag)
	return filter.Verdict{}
}

func TestHookRunsTablesInPriorityOrder(t *testing.T) {
	var got []string
	rs := filter.NewRuleset(packet.IPv4)
	for _, id := range []filter.TableID{filter.Security, filter.Filter, filter.NAT, filter.Mangle, filter.Raw} {
		for h := range filter.NumHooks {
			if id.BuiltinHooks().Has(h) {
				r := &filter.Rule{Target: orderTarget{&got, id.String() + ":" + h.String()}}
				if err := rs.Append(id, h.String(), r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	e := nfgo.New(nfgo.Config{Host: routerHost})
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	e.Path(p, nfgo.Meta{In: "eth0"})
	want := "raw:PREROUTING mangle:PREROUTING nat:PREROUTING mangle:INPUT filter:INPUT security:INPUT nat:INPUT"
	if strings.Join(got, " ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	got = nil
	p = decode(t, testpkt.Spec{Src: a("192.0.2.1"), Dst: a("198.18.0.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	e.Path(p, nfgo.Meta{})
	want = "raw:OUTPUT mangle:OUTPUT nat:OUTPUT filter:OUTPUT security:OUTPUT mangle:POSTROUTING nat:POSTROUTING"
	if strings.Join(got, " ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestVerdictSaysWhichRuleDecided(t *testing.T) {
	e := engine(t, `*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/8 -j ACCEPT
-A INPUT -p udp -j DROP
COMMIT
`)
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	v := e.Hook(p, nfgo.Meta{Hook: filter.Input, In: "eth0"})
	if got, want := v.String(), "DROP by rule 2 of filter INPUT"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if v.RuleRef == nil || iptables.FormatRule(v.RuleRef, packet.IPv4) != "-p udp -j DROP" {
		t.Errorf("RuleRef: got %+v", v.RuleRef)
	}
	p = decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 1, DstPort: 2})
	if got, want := e.Hook(p, nfgo.Meta{Hook: filter.Input}).String(), "ACCEPT by policy of filter INPUT"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSetRulesetKeepsOldRulesOnError(t *testing.T) {
	e := engine(t, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
	rs := filter.NewRuleset(packet.IPv4)
	if err := rs.Append(filter.Filter, "INPUT", &filter.Rule{Target: &filter.JumpTarget{Chain: "missing"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); !errors.Is(err, filter.ErrNoChain) {
		t.Fatalf("got %v, want ErrNoChain", err)
	}
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	if v := e.Hook(p, nfgo.Meta{Hook: filter.Input}); v.Action != filter.Drop {
		t.Errorf("after a rejected swap: got %v, want the old DROP policy", v)
	}
}

func TestEnginePathDoesNotAllocate(t *testing.T) {
	e := engine(t, `*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 22 -j MARK --set-xmark 0x22/0xff
-A FORWARD -m length --length 0:100 -j TOS --set-tos 0x10/0x3f
-A FORWARD -j TTL --ttl-inc 1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:chk - [0:0]
-A INPUT -s 10.0.0.0/8 -j chk
-A INPUT -p tcp -m tcp --tcp-flags SYN,RST,ACK SYN -m mark --mark 0x22/0xff -m limit --limit 1000/sec -j ACCEPT
-A INPUT -p tcp -i eth0 -m multiport --dports 80,443,8000:9000 -m comment --comment web -j ACCEPT
-A FORWARD -d 203.0.113.0/24 -m iprange --src-range 198.18.0.0-198.18.0.255 -j chk
-A FORWARD -m addrtype --dst-type LOCAL -m pkttype --pkt-type unicast -j ACCEPT
-A FORWARD -m state --state ESTABLISHED -m statistic --mode nth --every 3 --packet 0 -j ACCEPT
-A chk -p udp -m udp --sport 1:1023 -j RETURN
-A chk -p icmp -m icmp --icmp-type echo-request -m hashlimit --hashlimit-upto 5/sec --hashlimit-name x -j ACCEPT
COMMIT
`)
	now := time.Unix(1_700_000_000, 0)
	cases := map[string][]byte{
		"accept": testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 1, DstPort: 22, Flags: "S"}),
		"drop":   testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.9"), Proto: "udp", SrcPort: 1, DstPort: 2}),
	}
	for name, b := range cases {
		var p packet.Packet
		buf := make([]byte, len(b))
		allocs := testing.AllocsPerRun(1000, func() {
			copy(buf, b) // Path decrements a forwarded packet's TTL in place
			p.Decode(buf)
			e.Path(&p, nfgo.Meta{In: "eth0", Time: now})
		})
		if allocs != 0 {
			t.Errorf("%s path: %v allocations per packet, want 0", name, allocs)
		}
	}
}

func TestTraceReportsEveryRuleTheTracedPacketMeets(t *testing.T) {
	e := engine(t, `*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p udp -j TRACE
COMMIT
*filter
:INPUT DROP [0:0]
:sub - [0:0]
-A INPUT -j sub
-A INPUT -p udp -j ACCEPT
COMMIT
`)
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	v := e.Path(p, nfgo.Meta{In: "eth0"})
	var kinds []string
	for _, l := range v.Effects.Logs() {
		kind, _, _ := strings.Cut(l, " IN=")
		kinds = append(kinds, kind)
	}
	// The TRACE rule itself is not traced: the kernel traces a rule after
	// it matched and before its target ran.
	want := "TRACE: raw:PREROUTING:policy:2|TRACE: filter:INPUT:rule:1|TRACE: filter:sub:return:1|TRACE: filter:INPUT:rule:2"
	if got := strings.Join(kinds, "|"); got != want {
		t.Errorf("trace:\n got %s\nwant %s", got, want)
	}
}

func TestQueueHandsPacketsToTheCallback(t *testing.T) {
	rules := `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p udp -j NFQUEUE --queue-num 7
-A INPUT -p tcp -j NFQUEUE --queue-num 8 --queue-bypass
-A INPUT -j QUEUE
COMMIT
`
	rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint16
	e := nfgo.New(nfgo.Config{Host: routerHost, Queue: func(q uint16, p *packet.Packet, m nfgo.Meta) bool {
		got = append(got, q)
		return p.Proto == 17
	}})
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	udp := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	tcp := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 1, DstPort: 2})
	if v := e.Path(udp, nfgo.Meta{In: "eth0"}); v.Action != filter.Accept || v.Reason != nfgo.ReasonQueue || v.Queue != 7 {
		t.Errorf("udp: got %v (queue %d), want ACCEPT by queue 7", v, v.Queue)
	}
	if v := e.Path(tcp, nfgo.Meta{In: "eth0"}); v.Action != filter.Drop || v.Queue != 8 {
		t.Errorf("tcp: got %v, want DROP by queue 8", v)
	}
	if want := []uint16{7, 8}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("callback saw queues %v, want %v", got, want)
	}

	// With no listener, the kernel drops a queued packet unless the rule
	// says --queue-bypass.
	e = engine(t, rules)
	if v := e.Path(udp, nfgo.Meta{In: "eth0"}); v.Action != filter.Drop {
		t.Errorf("no listener: got %v, want DROP", v)
	}
	// Bypass accepts for the table, as nf_hook_slow continues with the
	// next hook function: the QUEUE rule after it is not reached.
	if v := e.Path(tcp, nfgo.Meta{In: "eth0"}); v.Action != filter.Accept || v.Queue != 8 {
		t.Errorf("no listener, --queue-bypass: got %v queue %d, want ACCEPT by queue 8", v, v.Queue)
	}
}

func TestClassifySetsPriority(t *testing.T) {
	e := engine(t, "*mangle\n-A POSTROUTING -j CLASSIFY --set-class 1:10\nCOMMIT\n")
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
	// tc class numbers are hexadecimal: 1:10 is 0x0001:0x0010.
	if v := e.Path(p, nfgo.Meta{In: "eth0"}); v.Priority != 0x10010 {
		t.Errorf("priority: got %#x, want 0x10010", v.Priority)
	}
}

func TestEngineReapsExpiredConnections(t *testing.T) {
	e := engine(t, "")
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.1"), Proto: "udp", SrcPort: uint16(1000 + i), DstPort: 53})
		e.Path(p, nfgo.Meta{In: "eth0", Time: t0})
	}
	if n := e.Conntrack().Len(); n != 100 {
		t.Fatalf("%d connections, want 100", n)
	}
	// An hour later the UDP entries have long expired; the garbage
	// collector, paced by the packets' clock, removes them while other
	// packets pass: a step every 8.4 ms sweeps the 64 shards in 0.54 s.
	later := t0.Add(time.Hour)
	p := decode(t, testpkt.Spec{Src: a("198.18.0.1"), Dst: a("192.0.2.1"), Proto: "icmp", ICMPType: 8, ICMPID: 1})
	for i := range 1000 {
		e.Path(p, nfgo.Meta{In: "eth0", Time: later.Add(time.Duration(i) * time.Millisecond)})
	}
	if n := e.Conntrack().Len(); n != 1 {
		t.Errorf("%d connections after the sweep, want 1 (the ping)", n)
	}
}

// A hashlimit table is found by its name when a ruleset is loaded, as
// in the kernel: a replacement that keeps a rule naming it keeps its
// flows, and a new name starts afresh.
func TestHashlimitTableSurvivesARulesetReplacement(t *testing.T) {
	rules := func(name string) string {
		return "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
			"-A INPUT -p udp -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name " + name + " -j ACCEPT\nCOMMIT\n"
	}
	e := engine(t, rules("flows"))
	now := time.Unix(1_700_000_000, 0)
	send := func() filter.Action {
		p := decode(t, testpkt.Spec{Src: a("198.51.100.9"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 1, DstPort: 2})
		return e.Path(p, nfgo.Meta{In: "eth1", Time: now}).Action
	}
	load := func(name string) {
		t.Helper()
		rs, err := iptables.Parse(strings.NewReader(rules(name)), packet.IPv4)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
	}
	got := []filter.Action{send(), send()}
	load("flows")
	got = append(got, send())
	load("fresh")
	got = append(got, send())
	want := []filter.Action{filter.Accept, filter.Drop, filter.Drop, filter.Accept}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v: the reload keeps the spent bucket, a new name has a full one", got, want)
	}
}
