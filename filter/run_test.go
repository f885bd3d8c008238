package filter

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// dportIs is a test match on the destination port, so these tests do not
// depend on the tcp extension.
type dportIs uint16

func (d dportIs) Match(c *Context) bool { return c.Packet.DstPort == uint16(d) }

// markTarget sets the mark and continues, like MARK.
type markTarget uint32

func (m markTarget) Do(c *Context) Verdict { c.Mark = uint32(m); return Verdict{} }

// onlyFilterInput is a test target restricted like REJECT.
type onlyFilterInput struct{}

func (onlyFilterInput) Do(*Context) Verdict { return Verdict{Action: Drop} }
func (onlyFilterInput) Name() string        { return "ONLYIN" }
func (onlyFilterInput) Allowed() (TableMask, HookMask) {
	return Tables(Filter), Hooks(Input)
}

func rule(port uint16, t Target) *Rule {
	r := &Rule{Target: t}
	if port != 0 {
		r.Matches = []Match{dportIs(port)}
	}
	return r
}

func tcpTo(port uint16) *packet.Packet {
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "tcp", SrcPort: 1000, DstPort: port, Flags: "S"}))
	return &p
}

// build makes a filter table from chain specs; chains not named INPUT,
// FORWARD or OUTPUT are user chains.
func build(t *testing.T, chains map[string][]*Rule, policy Policy) *Ruleset {
	t.Helper()
	rs := NewRuleset(packet.IPv4)
	rs.EnsureTable(Filter)
	for name := range chains {
		if _, ok := ParseHook(name); !ok {
			if err := rs.NewChain(Filter, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, rules := range chains {
		for _, r := range rules {
			if err := rs.Append(Filter, name, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if policy != PolicyNone {
		if err := rs.SetPolicy(Filter, "INPUT", policy); err != nil {
			t.Fatal(err)
		}
	}
	return rs
}

func TestTraversalFollowsKernelSemantics(t *testing.T) {
	tests := []struct {
		name      string
		chains    map[string][]*Rule
		policy    Policy
		port      uint16
		want      Action
		wantChain string
		wantRule  int
		wantMark  uint32
	}{
		{
			name:   "policy applies when nothing matches",
			chains: map[string][]*Rule{"INPUT": {rule(80, AcceptTarget)}},
			policy: PolicyDrop, port: 22, want: Drop, wantChain: "INPUT", wantRule: 0,
		},
		{
			name:   "first matching terminal rule wins",
			chains: map[string][]*Rule{"INPUT": {rule(22, DropTarget), rule(22, AcceptTarget)}},
			policy: PolicyAccept, port: 22, want: Drop, wantChain: "INPUT", wantRule: 1,
		},
		{
			name: "jump then fall off the user chain returns to the next rule",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "sub"}), rule(22, DropTarget)},
				"sub":   {rule(80, AcceptTarget)},
			},
			policy: PolicyAccept, port: 22, want: Drop, wantChain: "INPUT", wantRule: 2,
		},
		{
			name: "RETURN in a user chain resumes the caller",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "sub"}), rule(22, AcceptTarget)},
				"sub":   {rule(22, ReturnTarget), rule(0, DropTarget)},
			},
			policy: PolicyDrop, port: 22, want: Accept, wantChain: "INPUT", wantRule: 2,
		},
		{
			name: "goto does not come back: falling off returns past the jumper",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "a"}), rule(0, AcceptTarget)},
				"a":     {rule(0, &JumpTarget{Chain: "b", Goto: true}), rule(0, DropTarget)},
				"b":     {rule(80, DropTarget)},
			},
			policy: PolicyDrop, port: 22, want: Accept, wantChain: "INPUT", wantRule: 2,
		},
		{
			name: "goto from a built-in chain then RETURN applies the policy",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "a", Goto: true}), rule(0, AcceptTarget)},
				"a":     {rule(0, ReturnTarget)},
			},
			policy: PolicyDrop, port: 22, want: Drop, wantChain: "INPUT", wantRule: 0,
		},
		{
			name:   "RETURN in a built-in chain applies the policy",
			chains: map[string][]*Rule{"INPUT": {rule(0, ReturnTarget), rule(0, AcceptTarget)}},
			policy: PolicyDrop, port: 22, want: Drop, wantChain: "INPUT", wantRule: 0,
		},
		{
			name:   "a non-terminal target continues and its effect stays",
			chains: map[string][]*Rule{"INPUT": {rule(0, markTarget(7)), rule(0, nil), rule(22, AcceptTarget)}},
			policy: PolicyDrop, port: 22, want: Accept, wantChain: "INPUT", wantRule: 3, wantMark: 7,
		},
		{
			name: "nested jumps unwind in order",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "a"}), rule(0, DropTarget)},
				"a":     {rule(0, &JumpTarget{Chain: "b"}), rule(22, AcceptTarget)},
				"b":     {rule(0, &JumpTarget{Chain: "c"})},
				"c":     {rule(0, ReturnTarget)},
			},
			policy: PolicyDrop, port: 22, want: Accept, wantChain: "a", wantRule: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Compile(build(t, tt.chains, tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			c := &Context{Packet: tcpTo(tt.port), Hook: Input}
			res := prog.Run(Filter, c)
			if res.Verdict.Action != tt.want || res.Chain.Name != tt.wantChain || res.Rule != tt.wantRule {
				t.Errorf("got %v by %s rule %d, want %v by %s rule %d", res.Verdict.Action, res.Chain.Name, res.Rule, tt.want, tt.wantChain, tt.wantRule)
			}
			if c.Mark != tt.wantMark {
				t.Errorf("mark: got %#x, want %#x", c.Mark, tt.wantMark)
			}
		})
	}
}

func TestCompileRejectsWhatTheKernelRejects(t *testing.T) {
	tests := []struct {
		name    string
		chains  map[string][]*Rule
		wantErr error
		wantMsg string
	}{
		{
			name:    "jump to an unknown chain",
			chains:  map[string][]*Rule{"INPUT": {rule(0, &JumpTarget{Chain: "nope"})}},
			wantErr: ErrNoChain,
		},
		{
			name: "a loop through user chains",
			chains: map[string][]*Rule{
				"INPUT": {rule(0, &JumpTarget{Chain: "a"})},
				"a":     {rule(0, &JumpTarget{Chain: "b"})},
				"b":     {rule(0, &JumpTarget{Chain: "a", Goto: true})},
			},
			wantErr: ErrLoop,
		},
		{
			name:    "a chain that jumps to itself",
			chains:  map[string][]*Rule{"a": {rule(0, &JumpTarget{Chain: "a"})}},
			wantErr: ErrLoop,
		},
		{
			name: "a restricted target reachable from a hook it refuses",
			chains: map[string][]*Rule{
				"FORWARD": {rule(0, &JumpTarget{Chain: "a"})},
				"a":       {rule(0, onlyFilterInput{})},
			},
			wantErr: ErrNotAllowed,
			wantMsg: "used from hooks FORWARD, but only usable from INPUT",
		},
		{
			name:    "jump to a built-in chain",
			chains:  map[string][]*Rule{"INPUT": {rule(0, &JumpTarget{Chain: "OUTPUT"})}},
			wantMsg: "cannot jump to built-in chain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(build(t, tt.chains, PolicyNone))
			if err == nil {
				t.Fatal("Compile accepted it")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantMsg)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Errorf("got %T, want a *RuleError", err)
			}
		})
	}
}

func TestRestrictedTargetUnreachableChainOnlyChecksTable(t *testing.T) {
	// The kernel checks hooks only for chains reachable from a hook: an
	// unreferenced user chain may hold REJECT-like targets.
	rs := build(t, map[string][]*Rule{"a": {rule(0, onlyFilterInput{})}}, PolicyNone)
	if _, err := Compile(rs); err != nil {
		t.Fatalf("unreferenced chain: %v", err)
	}
	rs = NewRuleset(packet.IPv4)
	rs.EnsureTable(Mangle)
	if err := rs.Append(Mangle, "INPUT", rule(0, onlyFilterInput{})); err != nil {
		t.Fatal(err)
	}
	_, err := Compile(rs)
	if err == nil || !strings.Contains(err.Error(), "only valid in filter table, not mangle") {
		t.Errorf("got %v, want a table error", err)
	}
}

func TestChainEditingAPI(t *testing.T) {
	rs := NewRuleset(packet.IPv4)
	if err := rs.NewChain(Filter, "a"); err != nil {
		t.Fatal(err)
	}
	if err := rs.NewChain(Filter, "a"); !errors.Is(err, ErrChainExists) {
		t.Errorf("second NewChain: got %v, want ErrChainExists", err)
	}
	if err := rs.Append(Filter, "INPUT", rule(0, &JumpTarget{Chain: "a"})); err != nil {
		t.Fatal(err)
	}
	if err := rs.DeleteChain(Filter, "a"); !errors.Is(err, ErrChainInUse) {
		t.Errorf("deleting a referenced chain: got %v, want ErrChainInUse", err)
	}
	if err := rs.DeleteChain(Filter, "INPUT"); !errors.Is(err, ErrBuiltinChain) {
		t.Errorf("deleting INPUT: got %v, want ErrBuiltinChain", err)
	}
	if err := rs.Insert(Filter, "INPUT", 1, rule(22, DropTarget)); err != nil {
		t.Fatal(err)
	}
	if got := rs.Table(Filter).Chain("INPUT").Rules[0].Target; got != DropTarget {
		t.Errorf("Insert at 1: first rule's target is %v, want DROP", got)
	}
	if err := rs.Insert(Filter, "INPUT", 4, rule(0, nil)); !errors.Is(err, ErrNoRule) {
		t.Errorf("Insert past the end: got %v, want ErrNoRule", err)
	}
	if err := rs.Replace(Filter, "INPUT", 2, rule(0, AcceptTarget)); err != nil {
		t.Fatal(err)
	}
	if err := rs.DeleteChain(Filter, "a"); err != nil {
		t.Errorf("deleting a chain no longer referenced: %v", err)
	}
	if err := rs.Delete(Filter, "INPUT", 1); err != nil {
		t.Fatal(err)
	}
	if n := len(rs.Table(Filter).Chain("INPUT").Rules); n != 1 {
		t.Errorf("after delete: %d rules, want 1", n)
	}
	if err := rs.SetPolicy(Filter, "INPUT", PolicyDrop); err != nil {
		t.Fatal(err)
	}
	if err := rs.NewChain(Filter, "this-name-is-way-too-long-for-iptables"); err == nil {
		t.Error("a 38-character chain name was accepted")
	}
}

func TestRenameChainRewritesJumps(t *testing.T) {
	rs := build(t, map[string][]*Rule{"INPUT": {rule(0, &JumpTarget{Chain: "old"})}, "old": {rule(22, DropTarget)}}, PolicyNone)
	if err := rs.RenameChain(Filter, "old", "new"); err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	res := prog.Run(Filter, &Context{Packet: tcpTo(22), Hook: Input})
	if res.Chain.Name != "new" || res.Verdict.Action != Drop {
		t.Errorf("got %v in %s, want DROP in new", res.Verdict.Action, res.Chain.Name)
	}
}

func TestCountersCountRulesAndPolicies(t *testing.T) {
	rs := build(t, map[string][]*Rule{"INPUT": {rule(22, AcceptTarget)}}, PolicyDrop)
	prog, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []uint16{22, 22, 80} {
		prog.Run(Filter, &Context{Packet: tcpTo(port), Hook: Input})
	}
	in := rs.Table(Filter).Chain("INPUT")
	if p, b := in.Rules[0].Counters.Load(); p != 2 || b != 80 {
		t.Errorf("rule counters: got [%d:%d], want [2:80]", p, b)
	}
	if p, b := in.Counters.Load(); p != 1 || b != 40 {
		t.Errorf("policy counters: got [%d:%d], want [1:40]", p, b)
	}
}

func TestProgramSwapIsAtomicForReaders(t *testing.T) {
	// Readers run packets while a writer swaps between two programs; each
	// packet must see one program whole: here, both rules of one
	// generation agree on the mark they set and the verdict they give.
	gen := func(mark uint32, v *StandardTarget) *Program {
		rs := build(t, map[string][]*Rule{"INPUT": {rule(0, markTarget(mark)), rule(0, v)}}, PolicyNone)
		p, err := Compile(rs)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := gen(1, AcceptTarget), gen(2, DropTarget)
	var cur atomic.Pointer[Program]
	cur.Store(a)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 1)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Context{}
			for i := 0; i < 20000; i++ {
				c.Reset()
				c.Packet, c.Hook = tcpTo(1), Input
				res := cur.Load().Run(Filter, c)
				if (c.Mark == 1) != (res.Verdict.Action == Accept) {
					select {
					case errs <- "a packet saw half of a ruleset":
					default:
					}
					return
				}
			}
		}()
	}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				cur.Store(b)
			} else {
				cur.Store(a)
			}
		}
	}()
	wg.Wait()
	close(stop)
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}

func TestRunDoesNotAllocate(t *testing.T) {
	rs := build(t, map[string][]*Rule{
		"INPUT": {rule(80, AcceptTarget), rule(0, &JumpTarget{Chain: "a"}), rule(22, DropTarget)},
		"a":     {rule(23, DropTarget), rule(0, markTarget(3))},
	}, PolicyAccept)
	src := netip.MustParsePrefix("10.0.0.0/8")
	rs.Table(Filter).Chain("INPUT").Rules[0].Src = NetFromPrefix(src)
	prog, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	c := &Context{}
	p := tcpTo(22)
	allocs := testing.AllocsPerRun(1000, func() {
		c.Reset()
		c.Packet, c.Hook = p, Input
		prog.Run(Filter, c)
	})
	if allocs != 0 {
		t.Errorf("Run allocates %v times per packet, want 0", allocs)
	}
}
