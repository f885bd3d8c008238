package gvisor

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/faketime"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/header/parse"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// The forwarding host of every case: clients on eth0 (192.0.2.0/24),
// servers on eth1 (10.0.0.0/8).
var (
	client = netip.MustParseAddr("192.0.2.50")
	server = netip.MustParseAddr("10.1.2.3")
	snatTo = netip.MustParseAddr("10.0.0.1")
)

var forwardHost = nfgo.Host{Interfaces: []nfgo.Interface{
	{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
	{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}},
}, Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"}}, DefaultOut: "eth0"}

// A forwarder runs one IPv4 packet through PREROUTING, FORWARD and
// POSTROUTING, as a router does, and says whether it passed.
type forwarder interface {
	forward(pkt []byte, in, out string) bool
	// forwardBytes is forward returning the packet as it leaves (nil if
	// dropped), for the test that the engines agree.
	forwardBytes(pkt []byte, in, out string) []byte
	// forget drops every connection (the timer is stopped around it).
	forget()
}

// nfgoForwarder is nfgo's Engine. Each op copies the packet (NAT
// rewrites it in place) and decodes it; the engine routes it itself.
type nfgoForwarder struct {
	e   *nfgo.Engine
	buf []byte
	p   packet.Packet
	now time.Time
}

func newNfgo(tb testing.TB, rules string, offload bool) *nfgoForwarder {
	tb.Helper()
	e := nfgo.New(nfgo.Config{Host: forwardHost, FlowOffload: offload})
	if rules != "" {
		rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
		if err != nil {
			tb.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			tb.Fatal(err)
		}
	}
	return &nfgoForwarder{e: e, buf: make([]byte, 1500), now: time.Unix(1_700_000_000, 0)}
}

func (f *nfgoForwarder) forward(pkt []byte, in, _ string) bool {
	b := f.buf[:copy(f.buf, pkt)]
	f.p.Decode(b)
	return f.e.Path(&f.p, nfgo.Meta{In: in, Time: f.now}).Action == filter.Accept
}

func (f *nfgoForwarder) forwardBytes(pkt []byte, in, out string) []byte {
	if !f.forward(pkt, in, out) {
		return nil
	}
	return append([]byte(nil), f.p.Bytes()...)
}

func (f *nfgoForwarder) forget() { f.e.Conntrack().Flush(f.now) }

// gvisorForwarder is gVisor's netstack iptables and conntrack, driven as
// its IPv4 endpoint drives them when it forwards: a PacketBuffer made
// from the bytes, the IPv4 and TCP headers parsed, then CheckPrerouting,
// CheckForward and CheckPostrouting, and the buffer released.
type gvisorForwarder struct {
	it     *stack.IPTables
	tables map[stack.TableID]stack.Table
	clock  *faketime.ManualClock
}

func newGvisor(tables map[stack.TableID]stack.Table) *gvisorForwarder {
	g := &gvisorForwarder{tables: tables, clock: faketime.NewManualClock()}
	g.forget()
	return g
}

func (g *gvisorForwarder) forget() {
	g.it = stack.DefaultTables(g.clock, rand.New(rand.NewSource(1)))
	// ForceReplaceTable turns iptables and conntrack on even when the
	// tables hold nothing but ACCEPT policies.
	g.it.ForceReplaceTable(stack.FilterID, g.it.GetTable(stack.FilterID, false), false)
	for id, t := range g.tables {
		g.it.ForceReplaceTable(id, t, false)
	}
}

func (g *gvisorForwarder) forward(pkt []byte, in, out string) bool {
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	defer pb.DecRef()
	return g.run(pb, in, out)
}

func (g *gvisorForwarder) forwardBytes(pkt []byte, in, out string) []byte {
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	defer pb.DecRef()
	if !g.run(pb, in, out) {
		return nil
	}
	buf := pb.ToBuffer()
	return buf.Flatten()
}

// run parses pb's headers and runs it through the three hooks.
func (g *gvisorForwarder) run(pb *stack.PacketBuffer, in, out string) bool {
	return parse.IPv4(pb) && parse.TCP(pb) &&
		g.it.CheckPrerouting(pb, nil, in) && g.it.CheckForward(pb, in, out) && g.it.CheckPostrouting(pb, nil, nil, out)
}

// gvRule is one rule of a gVisor table under construction; jump names
// the user chain a rule jumps to.
type gvRule struct {
	filter   stack.IPHeaderFilter
	matchers []stack.Matcher
	target   stack.Target
	jump     string
}

// jumpTarget jumps to a user chain's first rule, as the sentry's
// JumpTarget does (it lives outside the stack package).
type jumpTarget struct{ to int }

func (j *jumpTarget) Action(*stack.PacketBuffer, stack.Hook, *stack.Route, stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	return stack.RuleJump, j.to
}

// tcpDport matches TCP packets to one destination port, as the sentry's
// TCPMatcher does.
type tcpDport struct{ port uint16 }

func (m tcpDport) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	if pkt.TransportProtocolNumber != header.TCPProtocolNumber {
		return false, false
	}
	tcp := header.TCP(pkt.TransportHeader().Slice())
	if len(tcp) < header.TCPMinimumSize {
		return false, true
	}
	return tcp.DestinationPort() == m.port, false
}

// gvTable lays chains out as gVisor's Table wants them: each builtin
// chain of hooks (in order) followed by its ACCEPT underflow, then each
// user chain behind a UserChainTarget header and ended by a RETURN, then
// the closing ERROR rule.
func gvTable(hooks []stack.Hook, builtin map[stack.Hook][]gvRule, user map[string][]gvRule, order []string) stack.Table {
	var t stack.Table
	for h := range t.BuiltinChains {
		t.BuiltinChains[h], t.Underflows[h] = stack.HookUnset, stack.HookUnset
	}
	v4 := header.IPv4ProtocolNumber
	var pending []*jumpTarget
	var pendingName []string
	add := func(r gvRule) {
		target := r.target
		if r.jump != "" {
			j := &jumpTarget{}
			pending, pendingName = append(pending, j), append(pendingName, r.jump)
			target = j
		}
		t.Rules = append(t.Rules, stack.Rule{Filter: r.filter, Matchers: r.matchers, Target: target})
	}
	for _, h := range hooks {
		t.BuiltinChains[h] = len(t.Rules)
		for _, r := range builtin[h] {
			add(r)
		}
		t.Underflows[h] = len(t.Rules)
		add(gvRule{filter: stack.EmptyFilter4(), target: &stack.AcceptTarget{NetworkProtocol: v4}})
	}
	start := map[string]int{}
	for _, name := range order {
		t.Rules = append(t.Rules, stack.Rule{Filter: stack.EmptyFilter4(), Target: &stack.UserChainTarget{Name: name, NetworkProtocol: v4}})
		start[name] = len(t.Rules)
		for _, r := range user[name] {
			add(r)
		}
		add(gvRule{filter: stack.EmptyFilter4(), target: &stack.ReturnTarget{NetworkProtocol: v4}})
	}
	add(gvRule{filter: stack.EmptyFilter4(), target: &stack.ErrorTarget{NetworkProtocol: v4}})
	for i, j := range pending {
		j.to = start[pendingName[i]]
	}
	return t
}

var natHooks = []stack.Hook{stack.Prerouting, stack.Input, stack.Output, stack.Postrouting}
var filterHooks = []stack.Hook{stack.Input, stack.Forward, stack.Output}

func addr4(a netip.Addr) tcpip.Address { return tcpip.AddrFrom4(a.As4()) }

// prefixFilter is "-s/-d PREFIX" as an IPHeaderFilter field pair.
func prefixFilter(p netip.Prefix) (addr, mask tcpip.Address) {
	var m [4]byte
	for i := range p.Bits() {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return addr4(p.Masked().Addr()), tcpip.AddrFrom4(m)
}

func tcpFilter() stack.IPHeaderFilter {
	f := stack.EmptyFilter4()
	f.Protocol, f.CheckProtocol = header.TCPProtocolNumber, true
	return f
}

// A peerCase is one ruleset, in iptables-save text for nfgo and as
// gVisor tables for the peer.
type peerCase struct {
	rules  string
	tables map[stack.TableID]stack.Table
}

type engine struct {
	name string
	f    forwarder
}

// engines returns nfgo and gVisor, each with the case's rules.
func (c peerCase) engines(tb testing.TB) []engine {
	return []engine{{"nfgo", newNfgo(tb, c.rules, false)}, {"gvisor", newGvisor(c.tables)}}
}

// enginesOffload is engines with nfgo's flow offload as a third: for
// the cases of established connections, which it forwards without the
// rules when it can prove they accept them (these rulesets do).
func (c peerCase) enginesOffload(tb testing.TB) []engine {
	return append(c.engines(tb), engine{"nfgo-offload", newNfgo(tb, c.rules, true)})
}

// emptyCase is no rules at all: conntrack alone.
var emptyCase = peerCase{}

// snatCase is "-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1".
func snatCase() peerCase {
	f := stack.EmptyFilter4()
	f.OutputInterface = "eth1"
	return peerCase{
		rules: "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
			"-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1\nCOMMIT\n",
		tables: map[stack.TableID]stack.Table{stack.NATID: gvTable(natHooks, map[stack.Hook][]gvRule{
			stack.Postrouting: {{filter: f, target: &stack.SNATTarget{Addr: addr4(snatTo), NetworkProtocol: header.IPv4ProtocolNumber, ChangeAddress: true}}},
		}, nil, nil)},
	}
}

// ruleCase is n FORWARD rules of the address shape ("-s 172.X.Y.0/24 -p
// tcp --dport P -j DROP") or the port shape ("-p tcp --dport P -j
// DROP"), none of which matches the benchmark flow.
func ruleCase(shape string, n int) peerCase {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	rules := make([]gvRule, 0, n)
	for i := range n {
		port := uint16(1000 + i%50000)
		f := tcpFilter()
		if shape == "addr" {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i >> 8), byte(i), 0}), 24)
			fmt.Fprintf(&b, "-A FORWARD -s %s -p tcp -m tcp --dport %d -j DROP\n", p, port)
			f.Src, f.SrcMask = prefixFilter(p)
		} else {
			port = uint16(1000 + i)
			fmt.Fprintf(&b, "-A FORWARD -p tcp -m tcp --dport %d -j DROP\n", port)
		}
		rules = append(rules, gvRule{filter: f, matchers: []stack.Matcher{tcpDport{port}}, target: &stack.DropTarget{NetworkProtocol: header.IPv4ProtocolNumber}})
	}
	b.WriteString("COMMIT\n")
	return peerCase{rules: b.String(), tables: map[stack.TableID]stack.Table{
		stack.FilterID: gvTable(filterHooks, map[stack.Hook][]gvRule{stack.Forward: rules}, nil, nil),
	}}
}

// kubeCase is the kube-proxy shape both engines can run: KUBE-SERVICES
// holds one "-d VIP/32 -p tcp --dport 80 -j KUBE-SVC-i" per service,
// each KUBE-SVC-i DNATs to its endpoint, and POSTROUTING SNATs what
// leaves for the pod network (gVisor has no statistic or mark match, and
// its MASQUERADE needs a whole NIC, so this is the subset they share).
func kubeCase(n int) peerCase {
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n")
	for i := range n {
		fmt.Fprintf(&b, ":KUBE-SVC-%d - [0:0]\n", i)
	}
	b.WriteString("-A PREROUTING -j KUBE-SERVICES\n-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1\n")
	v4 := header.IPv4ProtocolNumber
	user := map[string][]gvRule{}
	order := []string{"KUBE-SERVICES"}
	for i := range n {
		vip, ep := kubeVIP(i), kubeEndpoint(i)
		svc := fmt.Sprintf("KUBE-SVC-%d", i)
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d %s/32 -p tcp -m tcp --dport 80 -j %s\n", vip, svc)
		fmt.Fprintf(&b, "-A %s -p tcp -j DNAT --to-destination %s:8080\n", svc, ep)
		f := tcpFilter()
		f.Dst, f.DstMask = prefixFilter(netip.PrefixFrom(vip, 32))
		user["KUBE-SERVICES"] = append(user["KUBE-SERVICES"], gvRule{filter: f, matchers: []stack.Matcher{tcpDport{80}}, jump: svc})
		user[svc] = []gvRule{{filter: tcpFilter(), target: &stack.DNATTarget{Addr: addr4(ep), Port: 8080, NetworkProtocol: v4, ChangeAddress: true, ChangePort: true}}}
		order = append(order, svc)
	}
	b.WriteString("COMMIT\n")
	out := stack.EmptyFilter4()
	out.OutputInterface = "eth1"
	return peerCase{rules: b.String(), tables: map[stack.TableID]stack.Table{stack.NATID: gvTable(natHooks, map[stack.Hook][]gvRule{
		stack.Prerouting:  {{filter: stack.EmptyFilter4(), jump: "KUBE-SERVICES"}},
		stack.Postrouting: {{filter: out, target: &stack.SNATTarget{Addr: addr4(snatTo), NetworkProtocol: v4, ChangeAddress: true}}},
	}, user, order)}}
}

func kubeVIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}) }
func kubeEndpoint(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 244, byte(i >> 7), byte(i&0x7f) * 2})
}

// flow is one TCP connection's packets: the client's (original) and the
// server's (reply), addressed as they arrive at the router.
type flow struct {
	cport     uint16
	dst       netip.Addr // as the client addresses it
	replySrc  netip.Addr // the server, after any DNAT
	replyDst  netip.Addr // the client, after any SNAT
	replyPort uint16     // the server's port, after any DNAT (0: 80)
}

func (fl flow) orig(flags string, seq, ack uint32) []byte {
	return testpkt.Build(testpkt.Spec{Src: client, Dst: fl.dst, Proto: "tcp", SrcPort: fl.cport, DstPort: 80, Flags: flags, Seq: seq, Ack: ack})
}

func (fl flow) reply(flags string, seq, ack uint32) []byte {
	sport := fl.replyPort
	if sport == 0 {
		sport = 80
	}
	return testpkt.Build(testpkt.Spec{Src: fl.replySrc, Dst: fl.replyDst, Proto: "tcp", SrcPort: sport, DstPort: fl.cport, Flags: flags, Seq: seq, Ack: ack})
}

// establish runs a flow's three-way handshake through f.
func establish(tb testing.TB, f forwarder, fl flow) {
	tb.Helper()
	for _, s := range []struct {
		pkt     []byte
		in, out string
	}{{fl.orig("S", 100, 0), "eth0", "eth1"}, {fl.reply("SA", 500, 101), "eth1", "eth0"}, {fl.orig("A", 101, 501), "eth0", "eth1"}} {
		if !f.forward(s.pkt, s.in, s.out) {
			tb.Fatalf("handshake packet of port %d dropped", fl.cport)
		}
	}
}

// BenchmarkPeerEstablished is one established flow's 40-byte ACKs in
// each direction, through no rules and through SNAT in POSTROUTING.
func BenchmarkPeerEstablished(b *testing.B) {
	for _, tt := range []struct {
		name string
		c    peerCase
		nat  netip.Addr
	}{{"empty", emptyCase, client}, {"snat", snatCase(), snatTo}} {
		for _, dir := range []string{"original", "reply"} {
			for _, eng := range tt.c.enginesOffload(b) {
				b.Run(fmt.Sprintf("rules=%s/dir=%s/engine=%s", tt.name, dir, eng.name), func(b *testing.B) {
					fl := flow{cport: 40000, dst: server, replySrc: server, replyDst: tt.nat}
					establish(b, eng.f, fl)
					pkt, in, out := fl.orig("A", 101, 501), "eth0", "eth1"
					if dir == "reply" {
						pkt, in, out = fl.reply("A", 501, 101), "eth1", "eth0"
					}
					runPackets(b, eng.f, [][]byte{pkt}, in, out)
				})
			}
		}
	}
}

// runPackets forwards pkts round robin, each op one packet, all of
// which must pass.
func runPackets(b *testing.B, f forwarder, pkts [][]byte, in, out string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !f.forward(pkts[i], in, out) {
			b.Fatalf("packet %d dropped", i)
		}
		if i++; i == len(pkts) {
			i = 0
		}
	}
}

// BenchmarkPeerRules is an established flow's ACKs through a FORWARD
// chain of n rules, none of which matches them.
func BenchmarkPeerRules(b *testing.B) {
	for _, shape := range []string{"addr", "port"} {
		for _, n := range []int{10, 100, 1000, 10000} {
			c := ruleCase(shape, n)
			for _, eng := range c.enginesOffload(b) {
				b.Run(fmt.Sprintf("shape=%s/rules=%d/engine=%s", shape, n, eng.name), func(b *testing.B) {
					fl := flow{cport: 40000, dst: server, replySrc: server, replyDst: client}
					establish(b, eng.f, fl)
					runPackets(b, eng.f, [][]byte{fl.orig("A", 101, 501)}, "eth0", "eth1")
				})
			}
		}
	}
}

// BenchmarkPeerConntrack is conntrack with a table of 1k and 100k
// established flows, no rules: the ACKs of one flow (same), of every
// flow in turn (cycling), and SYNs of flows never seen (new; the table
// is emptied, timer stopped, each time it would grow past its size).
func BenchmarkPeerConntrack(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		flows := make([]flow, n)
		acks := make([][]byte, n)
		for i := range flows {
			flows[i] = flow{cport: uint16(1024 + i%60000), dst: netip.AddrFrom4([4]byte{10, 2, byte(i / 60000), 1}), replyDst: client}
			flows[i].replySrc = flows[i].dst
			acks[i] = flows[i].orig("A", 101, 501)
		}
		for _, pattern := range []string{"same", "cycling", "new"} {
			engines := emptyCase.engines(b)
			if pattern != "new" {
				engines = emptyCase.enginesOffload(b)
			}
			for _, eng := range engines {
				b.Run(fmt.Sprintf("flows=%d/pattern=%s/engine=%s", n, pattern, eng.name), func(b *testing.B) {
					if pattern == "new" {
						runNew(b, eng.f, n, func(i int) []byte { return flows[i].orig("S", 100, 0) })
						return
					}
					for _, fl := range flows {
						establish(b, eng.f, fl)
					}
					if pattern == "same" {
						runPackets(b, eng.f, acks[n/2:n/2+1], "eth0", "eth1")
					} else {
						runPackets(b, eng.f, acks, "eth0", "eth1")
					}
				})
			}
		}
	}
}

// runNew forwards the first packets of n distinct connections in turn,
// forgetting every connection (timer stopped) before it repeats one.
func runNew(b *testing.B, f forwarder, n int, first func(int) []byte) {
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = first(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !f.forward(pkts[i], "eth0", "eth1") {
			b.Fatalf("first packet %d dropped", i)
		}
		if i++; i == n {
			b.StopTimer()
			f.forget()
			i = 0
			b.StartTimer()
		}
	}
}

// BenchmarkPeerKubeProxy opens new connections to the last of n
// services of the shared kube-proxy shape: KUBE-SERVICES' walk, DNAT to
// the endpoint, SNAT out.
func BenchmarkPeerKubeProxy(b *testing.B) {
	for _, n := range []int{10, 10000} {
		c := kubeCase(n)
		for _, eng := range c.engines(b) {
			b.Run(fmt.Sprintf("services=%d/engine=%s", n, eng.name), func(b *testing.B) {
				vip := kubeVIP(n - 1)
				runNew(b, eng.f, 30000, func(i int) []byte {
					return flow{cport: uint16(1024 + i), dst: vip}.orig("S", 100, 0)
				})
			})
		}
	}
}

// TestPeersAgree checks that the benchmark compares like with like: on
// each shared ruleset, nfgo and gVisor pass the same packets of a
// connection and emit the same bytes.
func TestPeersAgree(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    peerCase
		fl   flow
	}{
		{"empty", emptyCase, flow{cport: 40000, dst: server, replySrc: server, replyDst: client}},
		{"snat", snatCase(), flow{cport: 40000, dst: server, replySrc: server, replyDst: snatTo}},
		{"addr-rules", ruleCase("addr", 100), flow{cport: 40000, dst: server, replySrc: server, replyDst: client}},
		{"port-rules", ruleCase("port", 100), flow{cport: 40000, dst: server, replySrc: server, replyDst: client}},
		{"port-rules-drop", ruleCase("port", 100), flow{cport: 40000, dst: server, replySrc: server, replyDst: client}},
		{"kube", kubeCase(10), flow{cport: 40000, dst: kubeVIP(9), replySrc: kubeEndpoint(9), replyDst: snatTo, replyPort: 8080}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			engines := tt.c.engines(t)
			pkts := []struct {
				pkt     []byte
				in, out string
			}{
				{tt.fl.orig("S", 100, 0), "eth0", "eth1"}, {tt.fl.reply("SA", 500, 101), "eth1", "eth0"},
				{tt.fl.orig("A", 101, 501), "eth0", "eth1"}, {tt.fl.reply("A", 501, 101), "eth1", "eth0"},
			}
			if tt.name == "port-rules-drop" {
				// Port 1050 is one of the rules' ports: both must drop it.
				fl := tt.fl
				pkts = pkts[:1]
				pkts[0].pkt = testpkt.Build(testpkt.Spec{Src: client, Dst: fl.dst, Proto: "tcp", SrcPort: fl.cport, DstPort: 1050, Flags: "S", Seq: 1})
			}
			for i, p := range pkts {
				got, want := engines[0].f.forwardBytes(p.pkt, p.in, p.out), engines[1].f.forwardBytes(p.pkt, p.in, p.out)
				if got != nil {
					var q packet.Packet
					if q.Decode(got); !q.IPv4HeaderChecksumOK() || !q.L4ChecksumOK() {
						t.Fatalf("packet %d: nfgo emits a bad checksum: %x", i, got)
					}
				}
				if !bytes.Equal(comparable(got), comparable(want)) {
					t.Fatalf("packet %d: nfgo emits\n%x\ngVisor emits\n%x", i, got, want)
				}
				if tt.name != "port-rules-drop" && got == nil {
					t.Fatalf("packet %d: dropped by both", i)
				}
			}
		})
	}
}

// comparable blanks what the two engines rightly emit differently: the
// TTL and IP checksum (nfgo forwards as a router, decrementing the TTL;
// gVisor's iptables leave that to its IP layer) and the TCP checksum
// (gVisor leaves it to checksum offload after NAT).
func comparable(b []byte) []byte {
	if len(b) < 40 {
		return b
	}
	b = append([]byte(nil), b...)
	b[8], b[10], b[11] = 0, 0, 0
	ihl := int(b[0]&0xf) * 4
	b[ihl+16], b[ihl+17] = 0, 0
	return b
}
