package filter

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// loggedMatch is a match with a side effect the test can see: each call
// is recorded, in order, so that the indexed walk must make exactly the
// linear walk's calls.
type loggedMatch struct {
	id     int
	result bool
	log    *[]int
}

func (m *loggedMatch) Match(*Context) bool {
	*m.log = append(*m.log, m.id)
	return m.result
}

// chooser draws the generator's choices: from a math/rand source, or
// from a fuzzer's bytes (0 when they run out).
type chooser func(n int) int

func bytesChooser(b []byte) chooser {
	return func(n int) int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v % n
	}
}

// genRuleset makes a filter table whose chains are long enough to be
// indexed and varied enough to defeat a careless index: prefixes under
// several netmasks (one not contiguous), inversions, protocols, tcp and
// udp matches first or behind a match with a side effect, port ranges,
// jumps, gotos, RETURNs, rules without a target, and both policies.
func genRuleset(pick chooser, log *[]int) *Ruleset {
	rs := NewRuleset(packet.IPv4)
	rs.EnsureTable(Filter)
	users := []string{"u0", "u1", "u2"}
	for _, u := range users {
		if err := rs.NewChain(Filter, u); err != nil {
			panic(err)
		}
	}
	if pick(2) == 0 {
		rs.SetPolicy(Filter, "FORWARD", PolicyDrop)
	}
	odd := []string{"10.0.0.0/16", "10.0.1.3/32", "192.168.1.0/24", "192.168.2.0/24"}
	net := func() Net {
		switch pick(16) {
		case 0:
			// 10.x.1.x: not a prefix.
			return Net{Addr: netip.MustParseAddr("10.0.1.0"), Mask: netip.MustParseAddr("255.0.255.0")}
		case 1:
			return NetFromPrefix(netip.MustParsePrefix(odd[pick(len(odd))]))
		}
		return NetFromPrefix(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(pick(16)), 0}), 24))
	}
	ports := []uint16{22, 80, 443, 53, 9, 25, 110, 143, 993, 995, 8080, 8443}
	ifaces := []string{"eth0", "eth1", "eth", "wg0", "lo"}
	id := 0
	chains := append([]string{"FORWARD"}, users...)
	for ci, name := range chains {
		n := indexMinRules + pick(24)
		// Most chains have a shape, as generated rulesets do: nearly
		// every rule tests the source, or the destination, or a port,
		// or an interface, or the mark.
		shape := pick(7)
		inSide := pick(2) == 0 // an interface chain tests -i, or -o
		for range n {
			r := &Rule{}
			field := pick(6)
			if shape < 5 && pick(12) != 0 {
				field = []int{0, 2, 3, 4, 5}[shape]
			}
			var mark Match
			switch field {
			case 0, 1:
				r.Header.Src = net()
				r.Header.SrcInvert = pick(8) == 0
			case 2:
				r.Header.Dst = net()
				r.Header.DstInvert = pick(8) == 0
			case 4:
				ifc := Iface{Name: ifaces[pick(len(ifaces))], Wildcard: pick(12) == 0, Invert: pick(12) == 0}
				if inSide != (pick(12) == 0) {
					r.Header.In = ifc
				} else {
					r.Header.Out = ifc
				}
			case 5:
				mark = &MarkMatch{Mark: uint32(pick(16)), Mask: []uint32{0xff, 0xffffffff}[pick(2)], Invert: pick(12) == 0}
			}
			if pick(5) == 0 {
				r.Header.Dst = net()
			}
			switch pick(4) {
			case 0:
				r.Header.Proto = packet.ProtoTCP
			case 1:
				r.Header.Proto = packet.ProtoUDP
			case 2:
				r.Header.Proto = packet.ProtoICMP
			}
			if field == 3 && shape == 2 {
				r.Header.Proto = []uint8{packet.ProtoTCP, packet.ProtoUDP}[pick(2)]
			}
			r.Header.ProtoInvert = r.Header.Proto != 0 && pick(10) == 0
			pr := PortRange{Min: ports[pick(len(ports))]}
			pr.Max = pr.Min
			if pick(6) == 0 {
				pr = PortRange{Min: 50, Max: 100}
			}
			var pm Match
			switch {
			case (r.Header.Proto == packet.ProtoTCP || r.Header.Proto == packet.ProtoUDP) && !r.Header.ProtoInvert && pick(4) == 0:
				// multiport, now and then with a range, a port listed twice,
				// --ports or --sports, or inverted.
				m := &MultiportMatch{Mode: MultiportDestination, Invert: pick(8) == 0}
				if pick(6) == 0 {
					m.Mode = []MultiportMode{MultiportSource, MultiportEither}[pick(2)]
				}
				for range 1 + pick(4) {
					p := ports[pick(len(ports))]
					m.Ports = append(m.Ports, PortRange{Min: p, Max: p})
				}
				if pick(4) == 0 {
					m.Ports = append(m.Ports, pr)
				}
				if pick(6) == 0 {
					m.Ports = append(m.Ports, m.Ports[0])
				}
				pm = m
			case r.Header.Proto == packet.ProtoTCP:
				m := &TCPMatch{SrcPorts: AllPorts, DstPorts: pr, DstInvert: pick(8) == 0}
				if pick(4) == 0 {
					m.FlagMask, m.FlagComp = packet.TCPSyn|packet.TCPAck, packet.TCPSyn
				}
				pm = m
			case r.Header.Proto == packet.ProtoUDP:
				pm = &UDPMatch{SrcPorts: AllPorts, DstPorts: pr, DstInvert: pick(8) == 0}
			}
			lm := &loggedMatch{id: id, result: pick(3) != 0, log: log}
			id++
			switch {
			case mark != nil && pick(4) == 0:
				r.Matches = []Match{&CommentMatch{Comment: "m"}, mark, lm}
			case mark != nil && pick(10) == 0:
				r.Matches = []Match{lm, mark} // a side effect before the mark test
			case mark != nil:
				r.Matches = []Match{mark}
			case pm != nil && pick(8) == 0:
				r.Matches = []Match{lm, pm} // a side effect before the port test
			case pm != nil && pick(2) == 0:
				r.Matches = []Match{pm, lm}
			case pm != nil && pick(4) == 0:
				r.Matches = []Match{&CommentMatch{Comment: "kube"}, pm}
			case pm != nil:
				r.Matches = []Match{pm}
			case pick(3) == 0:
				r.Matches = []Match{lm}
			}
			switch k := pick(10); {
			case k == 0 && pick(10) == 0, shape == 4 && pick(25) == 0:
				r.Target = &MarkTarget{Mark: uint32(pick(4)), Mask: 0xff} // the mark changes mid-chain
			case k == 0:
				r.Target = AcceptTarget
			case k == 1:
				r.Target = DropTarget
			case k == 2 && ci > 0:
				r.Target = ReturnTarget
			case k <= 4 && ci < len(users):
				to := users[ci+pick(len(users)-ci)]
				// A mark chain mostly goes to its user chains: a jump might
				// change the mark, and the chain could not be indexed by it.
				r.Target = &JumpTarget{Chain: to, Goto: pick(3) == 0 || shape == 4 && pick(10) != 0}
			}
			if err := rs.Append(Filter, name, r); err != nil {
				panic(err)
			}
		}
	}
	return rs
}

// genPacket makes a packet near the rules' values: addresses in and
// out of their nets, ports on and off theirs, and now and then a later
// fragment or a cut transport header.
func genPacket(pick chooser) []byte {
	addr := func() netip.Addr {
		switch pick(6) {
		case 0:
			return netip.MustParseAddr([]string{"10.9.1.1", "192.168.1.7", "192.168.2.2", "172.16.0.1", "10.0.1.3"}[pick(5)])
		}
		return netip.AddrFrom4([4]byte{10, 0, byte(pick(18)), byte(pick(4))})
	}
	protos := []string{"tcp", "udp", "icmp"}
	ports := []uint16{22, 80, 443, 53, 9, 25, 110, 143, 993, 995, 8080, 8443, 77, 60}
	s := testpkt.Spec{Src: addr(), Dst: addr(), Proto: protos[pick(len(protos))], SrcPort: 40000, DstPort: ports[pick(len(ports))]}
	if pick(4) == 0 {
		s.SrcPort = ports[pick(len(ports))] // for multiport --sports and --ports
	}
	if s.Proto == "tcp" {
		s.Flags = []string{"S", "SA", "A", "PA"}[pick(4)]
	}
	b := testpkt.Build(s)
	switch pick(10) {
	case 0:
		b[6], b[7] = 0x00, 0x10 // a later fragment: no transport header
	case 1:
		// The transport header cut short: the ports may still be there.
		n := 20 + []int{2, 4, 8, 12}[pick(4)]
		b = b[:n]
		b[2], b[3] = 0, byte(n)
	}
	return b
}

// genMeta picks the interfaces and mark a packet traverses with.
func genMeta(pick chooser) pktMeta {
	ifaces := []string{"eth0", "eth1", "eth10", "wg0", ""}
	return pktMeta{in: ifaces[pick(len(ifaces))], out: ifaces[pick(len(ifaces))], mark: uint32(pick(18)) | uint32(pick(4))<<8}
}

type pktMeta struct {
	in, out string
	mark    uint32
}

// walk runs one packet through FORWARD and describes what happened.
func walk(prog *Program, b []byte, m pktMeta, log *[]int) string {
	var p packet.Packet
	p.Decode(append([]byte(nil), b...))
	*log = (*log)[:0]
	c := &Context{Packet: &p, Hook: Forward, In: m.in, Out: m.out, Mark: m.mark}
	res := prog.Run(Filter, c)
	name := ""
	if res.Chain != nil {
		name = res.Chain.Name
	}
	return fmt.Sprintf("%v by %s rule %d hotdrop %v, matches called %v", res.Verdict.Action, name, res.Rule, res.HotDrop, *log)
}

// counters lists every rule's and policy's counters.
func counters(rs *Ruleset) []string {
	var out []string
	for _, c := range rs.Table(Filter).Chains {
		pk, by := c.Counters.Load()
		out = append(out, fmt.Sprintf("%s policy %d/%d", c.Name, pk, by))
		for i, r := range c.Rules {
			pk, by := r.Counters.Load()
			out = append(out, fmt.Sprintf("%s rule %d %d/%d", c.Name, i+1, pk, by))
		}
	}
	return out
}

// indexedAndLinear compiles the same generated ruleset twice (rules
// gives the same choices each time), once with the chain index and once
// without, runs n packets through both, and reports any packet, or any
// counter, on which they differ.
func indexedAndLinear(t *testing.T, rules func() chooser, pkts chooser, n int) {
	t.Helper()
	var logI, logL []int
	rsI, rsL := genRuleset(rules(), &logI), genRuleset(rules(), &logL)
	progI, err := Compile(rsI)
	if err != nil {
		t.Fatal(err)
	}
	noIndex = true
	progL, err := Compile(rsL)
	noIndex = false
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b, m := genPacket(pkts), genMeta(pkts)
		if gi, gl := walk(progI, b, m, &logI), walk(progL, b, m, &logL); gi != gl {
			t.Fatalf("packet %d (% x, %+v): indexed: %s; linear: %s", i, b, m, gi, gl)
		}
	}
	ci, cl := counters(rsI), counters(rsL)
	for i := range ci {
		if ci[i] != cl[i] {
			t.Fatalf("counters: indexed %s, linear %s", ci[i], cl[i])
		}
	}
}

// TestIndexMatchesLinear: on random rulesets and packets, the indexed
// walk gives every packet the linear walk's verdict, deciding rule and
// hotdrop, calls the same matches in the same order, and leaves the
// same counters; and enough of the generated chains are indexed for the
// comparison to test the index.
func TestIndexMatchesLinear(t *testing.T) {
	indexed, chains := 0, 0
	byField := map[indexField]int{}
	for seed := int64(1); seed <= 300; seed++ {
		rules := func() chooser { return rand.New(rand.NewSource(seed)).Intn }
		indexedAndLinear(t, rules, rand.New(rand.NewSource(-seed)).Intn, 300)
		var log []int
		prog, err := Compile(genRuleset(rules(), &log))
		if err != nil {
			t.Fatal(err)
		}
		for _, pc := range prog.tables[Filter].chains {
			chains++
			if pc.index != nil {
				indexed++
				byField[pc.index.field]++
			}
		}
	}
	t.Logf("%d of %d chains indexed, by field %v", indexed, chains, byField)
	if indexed < chains/6 {
		t.Errorf("only %d of %d chains indexed", indexed, chains)
	}
	for f := indexSrc; f <= indexMark; f++ {
		if byField[f] < 10 {
			t.Errorf("only %d chains indexed by field %d", byField[f], f)
		}
	}
}

// FuzzIndexMatchesLinear is TestIndexMatchesLinear on a fuzzer's
// rulesets and packets.
func FuzzIndexMatchesLinear(f *testing.F) {
	f.Add([]byte("a ruleset of some length, to be indexed"), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, rules, pkts []byte) {
		indexedAndLinear(t, func() chooser { return bytesChooser(rules) }, bytesChooser(pkts), min(len(pkts)/2+1, 64))
	})
}
