package filter

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// editor makes random iptables-style edits to a ruleset, the ones a
// restore or a series of commands makes: chains created, flushed,
// refilled, deleted and renamed, rules appended, inserted, replaced and
// deleted, jumps and gotos, policies, and rules whose extensions are
// restricted to some hooks (so that a reused chain newly reachable from
// another hook must be checked again) or bound to objects.
type editor struct {
	next  func() int // the next choice, in [0, 256)
	rs    *Ruleset
	names int
}

func (ed *editor) pick(n int) int { return ed.next() % n }

func (ed *editor) userChains(t *Table) []*Chain {
	var cs []*Chain
	for _, c := range t.Chains {
		if !c.Builtin {
			cs = append(cs, c)
		}
	}
	return cs
}

func (ed *editor) rule(t *Table) *Rule {
	r := &Rule{}
	if ed.pick(2) == 0 {
		r.Src = NetFromPrefix(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(ed.pick(4)), byte(ed.pick(256)), 0}), 24))
	}
	switch ed.pick(10) {
	case 0:
		r.Matches = []Match{&MACMatch{Source: [6]byte{2, 0, 0, 0, 0, byte(ed.pick(256))}}} // PREROUTING, INPUT, FORWARD only
	case 1:
		r.Matches = []Match{&OwnerMatch{}} // OUTPUT, POSTROUTING only
	case 2:
		r.Matches = []Match{&RecentMatch{ListName: fmt.Sprintf("r%d", ed.pick(3)), Command: RecentSet}} // bound to an object
	}
	switch users := ed.userChains(t); ed.pick(6) {
	case 0, 1:
		if len(users) > 0 {
			r.Target = &JumpTarget{Chain: users[ed.pick(len(users))].Name, Goto: ed.pick(4) == 0}
			break
		}
		fallthrough
	case 2:
		r.Target = &StandardTarget{Verdict: Accept}
	case 3:
		r.Target = &StandardTarget{Verdict: Return}
	case 4:
		r.Target = &StandardTarget{Verdict: Drop}
	}
	return r
}

// edit makes one edit; a refused one (a loop is only found by Compile,
// so it is allowed) changes nothing.
func (ed *editor) edit() {
	id := []TableID{Filter, Mangle}[ed.pick(2)]
	t := ed.rs.EnsureTable(id)
	c := t.Chains[ed.pick(len(t.Chains))]
	users := ed.userChains(t)
	switch ed.pick(12) {
	case 0, 1:
		ed.names++
		_ = ed.rs.NewChain(id, fmt.Sprintf("C%d", ed.names))
	case 2:
		if len(users) > 0 {
			_ = ed.rs.DeleteChain(id, users[ed.pick(len(users))].Name)
		}
	case 3:
		if len(users) > 0 {
			ed.names++
			_ = ed.rs.RenameChain(id, users[ed.pick(len(users))].Name, fmt.Sprintf("C%d", ed.names))
		}
	case 4:
		_ = ed.rs.Flush(id, c.Name)
	case 5:
		if len(c.Rules) > 0 {
			_ = ed.rs.Delete(id, c.Name, 1+ed.pick(len(c.Rules)))
		}
	case 6:
		if len(c.Rules) > 0 {
			_ = ed.rs.Replace(id, c.Name, 1+ed.pick(len(c.Rules)), ed.rule(t))
		}
	case 7:
		_ = ed.rs.Insert(id, c.Name, 1+ed.pick(len(c.Rules)+1), ed.rule(t))
	case 8:
		if c.Builtin {
			_ = ed.rs.SetPolicy(id, c.Name, []Policy{PolicyAccept, PolicyDrop}[ed.pick(2)])
		}
	default:
		_ = ed.rs.Append(id, c.Name, ed.rule(t))
	}
}

// checkCompileNext edits a ruleset step by step and compiles each step
// both from scratch and from the previous step's program: the programs
// must be the same, structure for structure, and so must the errors.
func checkCompileNext(t *testing.T, ed *editor, steps int) {
	t.Helper()
	objs := &Objects{}
	var prev *Program
	for step := range steps {
		next := ed.rs.Clone()
		ed.rs = next
		for range 1 + ed.pick(4) {
			ed.edit()
		}
		want, wantErr := CompileWith(next, objs)
		got, gotErr := CompileNext(prev, next)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("step %d: CompileNext error %v, CompileWith error %v", step, gotErr, wantErr)
		}
		if wantErr != nil {
			continue // prev stays, as an engine keeps its old program
		}
		if prev != nil && got.objs != prev.objs {
			t.Fatalf("step %d: CompileNext bound to other objects than prev's", step)
		}
		if !reflect.DeepEqual(got.tables, want.tables) || got.depth != want.depth {
			t.Fatalf("step %d: CompileNext's program differs from CompileWith's", step)
		}
		if prev == nil {
			prev = want // the objects both share from now on
			continue
		}
		prev = got
	}
}

func TestCompileNextMatchesCompile(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		ed := &editor{next: func() int { return rng.IntN(256) }, rs: NewRuleset(packet.IPv4)}
		// Enough chains for the name index, and long ones for the chain
		// index.
		for range 40 {
			ed.names++
			_ = ed.rs.NewChain(Filter, fmt.Sprintf("C%d", ed.names))
		}
		for range 200 {
			_ = ed.rs.Append(Filter, "FORWARD", ed.rule(ed.rs.Table(Filter)))
		}
		checkCompileNext(t, ed, 150)
	}
}

// CompileNext reuses what did not change: a chain with the same rules
// keeps its compiled rules, even where its jumps moved.
func TestCompileNextReusesUnchangedChains(t *testing.T) {
	rs := NewRuleset(packet.IPv4)
	for _, name := range []string{"A", "B", "C"} {
		if err := rs.NewChain(Filter, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct{ chain, to string }{{"INPUT", "A"}, {"INPUT", "C"}, {"C", "B"}, {"B", ""}} {
		var tg Target = &JumpTarget{Chain: r.to}
		if r.to == "" {
			tg = &StandardTarget{Verdict: Accept}
		}
		if err := rs.Append(Filter, r.chain, &Rule{Target: tg}); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	next := rs.Clone()
	if err := next.DeleteChain(Filter, "A"); err == nil {
		t.Fatal("a referenced chain was deleted")
	}
	if err := next.Delete(Filter, "INPUT", 1); err != nil {
		t.Fatal(err)
	}
	if err := next.DeleteChain(Filter, "A"); err != nil { // B and C move up
		t.Fatal(err)
	}
	p2, err := CompileNext(p1, next)
	if err != nil {
		t.Fatal(err)
	}
	chain := func(p *Program, name string) *progChain {
		pt := p.tables[Filter]
		for i := range pt.chains {
			if pt.chains[i].chain.Name == name {
				return &pt.chains[i]
			}
		}
		t.Fatalf("no chain %s", name)
		return nil
	}
	if b1, b2 := chain(p1, "B"), chain(p2, "B"); &b1.rules[0] != &b2.rules[0] {
		t.Error("B, unchanged and without jumps, was compiled again")
	}
	c1, c2 := chain(p1, "C"), chain(p2, "C")
	if &c1.rules[0] == &c2.rules[0] {
		t.Error("C's jump to B, which moved, was not resolved again")
	}
	if got, want := c2.rules[0].jump, int32(len(p2.tables[Filter].chains)-2); got != want {
		t.Errorf("C's jump goes to chain %d, want %d (B)", got, want)
	}
	if c2.chain != next.Table(Filter).Chain("C") {
		t.Error("a reused chain counts its policy and names itself from the old ruleset's chain")
	}
	if c1.rules[0].jump == c2.rules[0].jump {
		t.Error("the old program's jump was changed in place")
	}
}

// FuzzCompileNext drives the editor with the fuzzer's bytes.
func FuzzCompileNext(f *testing.F) {
	f.Add([]byte{0, 0, 9, 9, 1, 9, 5, 7, 2, 3})
	f.Add([]byte("a series of edits, jumps and loops to compile twice"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pos := 0
		ed := &editor{rs: NewRuleset(packet.IPv4), next: func() int {
			if pos >= len(data) {
				return 0
			}
			pos++
			return int(data[pos-1])
		}}
		for range 4 {
			ed.names++
			_ = ed.rs.NewChain(Filter, fmt.Sprintf("C%d", ed.names))
		}
		checkCompileNext(t, ed, 1+len(data)/4)
	})
}
