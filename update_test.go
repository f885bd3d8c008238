package nfgo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// A --noflush restore that replaces one chain, as kube-proxy restores a
// service whose endpoints changed: the running engine compiles only what
// changed (filter.CompileNext), packets see the new chain, and the
// counters of every other rule and of the policies carry on.
func TestNoFlushUpdateKeepsOtherCounters(t *testing.T) {
	const rules = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SVC-A - [0:0]
:SVC-B - [0:0]
-A INPUT -p tcp -m tcp --dport 80 -j SVC-A
-A INPUT -p tcp -m tcp --dport 81 -j SVC-B
-A SVC-A -s 198.18.0.0/16 -j ACCEPT
-A SVC-B -s 198.18.0.0/16 -j ACCEPT
COMMIT
`
	e := engine(t, rules)
	now := time.Unix(1_700_000_000, 0)
	send := func(port uint16) filter.Action {
		p := decode(t, testpkt.Spec{Src: a("198.18.0.7"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 40000, DstPort: port, Flags: "S"})
		return e.Path(p, nfgo.Meta{In: "eth0", Time: now}).Action
	}
	for _, port := range []uint16{80, 80, 81, 82} {
		send(port)
	}
	cur := e.Program(packet.IPv4).Ruleset()
	next, err := iptables.Restore(strings.NewReader("*filter\n:SVC-B - [0:0]\n-A SVC-B -s 203.0.113.0/24 -j ACCEPT\nCOMMIT\n"), cur, iptables.ReadOptions{NoFlush: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(next); err != nil {
		t.Fatal(err)
	}
	for port, want := range map[uint16]filter.Action{80: filter.Accept, 81: filter.Drop} {
		if got := send(port); got != want {
			t.Errorf("after the update, a SYN to port %d: %v, want %v", port, got, want)
		}
	}
	tb := e.Program(packet.IPv4).Ruleset().Table(filter.Filter)
	for _, c := range []struct {
		chain   string
		rule    int // 0: the policy
		packets uint64
	}{
		{"INPUT", 1, 3}, {"INPUT", 2, 2}, {"SVC-A", 1, 3}, {"SVC-B", 1, 0}, {"INPUT", 0, 2},
	} {
		ch := tb.Chain(c.chain)
		counters := &ch.Counters
		if c.rule > 0 {
			counters = &ch.Rules[c.rule-1].Counters
		}
		if got, _ := counters.Load(); got != c.packets {
			t.Errorf("%s rule %d counted %d packets, want %d", c.chain, c.rule, got, c.packets)
		}
	}
}
