package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// RuleError is a validation error tied to a rule or chain, with the source
// line when the ruleset came from text.
type RuleError struct {
	Line  int // source line; 0 if unknown
	Table TableID
	Chain string
	Rule  int // 1-based rule number; 0 for the chain itself
	Err   error
}

// Error formats the error with its line and location.
func (e *RuleError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	fmt.Fprintf(&b, "%s %s", e.Table, e.Chain)
	if e.Rule > 0 {
		fmt.Fprintf(&b, " rule %d", e.Rule)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *RuleError) Unwrap() error { return e.Err }

// Program is a compiled, validated, immutable ruleset: what packets run
// through. It is safe for concurrent use. Its rules are the Ruleset's, so
// their counters are the ones Ruleset and iptables-save report.
type Program struct {
	family packet.Family
	source *Ruleset
	tables [NumTables]*progTable
	// objs are the objects the program's extensions are bound to, and
	// held the ones it holds (see Objects).
	objs *Objects
	held []ObjectKey
	// releases give up what the program holds outside Objects (ipsets,
	// nfacct objects), when it is released.
	releases []func()
	// depth is the deepest jump nesting in any table, so a Context's
	// stack can be sized once.
	depth int
	// offload is why the program may not offload established
	// connections, "" if it may (offload.go).
	offload string
}

type progTable struct {
	id     TableID
	chains []progChain
	entry  [NumHooks]int32 // chain index of each built-in chain, -1 if none
}

type progChain struct {
	chain *Chain
	rules []progRule
	// index files a long chain's rules by one field (index.go); nil for
	// a chain walked rule by rule.
	index *chainIndex
	// edges are the chain's jumps and gotos, for the walks that find
	// loops, depth and hooks without reading every rule.
	edges []edge
	// hooks are the hooks the chain is reachable from, which its rules
	// were checked for.
	hooks HookMask
	// bound is set when a rule has an extension bound to the program's
	// objects (a Binder): such a chain is compiled again each time, so
	// that the new program holds what it uses.
	bound bool
}

// edge is a jump (or a goto, which does not nest) of rule Rule
// (0-based) to chain To.
type edge struct {
	rule, to int32
	isGoto   bool
}

type progRule struct {
	rule *Rule
	hdr  compiledHeader
	// matches and target are the rule's, bound to the program's objects
	// where an extension is a Binder.
	matches []Match
	target  Target
	// action is Jump, Goto, Accept, Drop, Return for the standard
	// targets, so the traversal needs no call; Continue means call Do
	// (or nothing, when the rule has no target).
	action Action
	jump   int32
}

// Family returns the family the program was compiled for.
func (p *Program) Family() packet.Family { return p.family }

// Ruleset returns the ruleset the program was compiled from. Do not edit
// it: Clone it first.
func (p *Program) Ruleset() *Ruleset { return p.source }

// HasTable reports whether the program has rules for table t.
func (p *Program) HasTable(t TableID) bool { return p.tables[t] != nil }

// Compile validates rs as the kernel validates a table replacement and
// returns the program to run. Every problem found is reported, each as a
// *RuleError, joined with errors.Join. rs must not be edited afterwards;
// edit a Clone instead.
//
// The program's extensions get objects of their own (see Objects); an
// engine compiles with CompileWith, so that its rulesets share theirs.
func Compile(rs *Ruleset) (*Program, error) { return CompileWith(rs, &Objects{}) }

// CompileWith is Compile binding the program's extensions to objs: rules
// of this and later programs that name the same object share it.
func CompileWith(rs *Ruleset, objs *Objects) (*Program, error) {
	return compile(rs, objs, nil)
}

// CompileNext is CompileWith(rs, prev's objects) for the program that is
// to replace prev, reusing prev's work: a chain whose rules are the very
// *Rule values of prev's chain of that name keeps its compiled rules,
// checks and index, and only its jumps are resolved again. A --noflush
// restore that replaces one service's chains in a kube-proxy table of
// 70,000 rules so costs what those chains cost, plus a pass over the
// chain names and jumps. The result is the program CompileWith would
// return. prev may be nil, or of another family: then nothing is
// reused.
func CompileNext(prev *Program, rs *Ruleset) (*Program, error) {
	if prev == nil {
		return CompileWith(rs, &Objects{})
	}
	return compile(rs, prev.objs, prev)
}

func compile(rs *Ruleset, objs *Objects, prev *Program) (*Program, error) {
	if prev != nil && prev.family != rs.Family {
		prev = nil
	}
	p := &Program{family: rs.Family, source: rs, objs: objs}
	b := &Binding{objs: objs, family: rs.Family}
	var errs []error
	for _, t := range rs.tables {
		if t == nil {
			continue
		}
		var base *progTable
		if prev != nil {
			base = prev.tables[t.ID]
		}
		pt, depth, terrs := compileTable(t, rs.Family, b, base)
		errs = append(errs, terrs...)
		p.tables[t.ID] = pt
		p.depth = max(p.depth, depth)
	}
	if len(errs) > 0 {
		objs.dropUnheld(b.held)
		for _, release := range b.releases {
			release()
		}
		return nil, errors.Join(errs...)
	}
	p.held, p.releases = b.held, b.releases
	p.offload = analyseOffload(rs)
	return p, nil
}

// tableCompiler compiles one table, reusing the chains of base (the
// same table in the program being replaced) that did not change.
type tableCompiler struct {
	t      *Table
	family packet.Family
	base   *progTable
	// baseNames maps base's chain names to positions, built only when
	// a chain is not where it was.
	baseNames map[string]int32
	pt        *progTable
	// reused marks the chains taken from base.
	reused []bool
	errs   []error
}

func (tc *tableCompiler) fail(c *Chain, i int, err error) {
	line := c.Line
	if i > 0 {
		line = c.Rules[i-1].Line
	}
	tc.errs = append(tc.errs, &RuleError{Line: line, Table: tc.t.ID, Chain: c.Name, Rule: i, Err: err})
}

func compileTable(t *Table, family packet.Family, b *Binding, base *progTable) (*progTable, int, []error) {
	tc := &tableCompiler{t: t, family: family, base: base, reused: make([]bool, len(t.Chains))}
	pt := &progTable{id: t.ID, chains: make([]progChain, len(t.Chains))}
	tc.pt = pt
	for h := range pt.entry {
		pt.entry[h] = -1
	}
	dups := t.mayHaveDuplicates()
	for i, c := range t.Chains {
		if dups {
			if k, _ := t.chainPos(c.Name); int(k) != i {
				tc.fail(c, 0, fmt.Errorf("chain %q: %w", c.Name, ErrChainExists))
			}
		}
		if c.Builtin {
			if !t.ID.BuiltinHooks().Has(c.Hook) {
				tc.fail(c, 0, fmt.Errorf("table %s has no built-in chain %s", t.ID, c.Hook))
				continue
			}
			pt.entry[c.Hook] = int32(i)
		}
	}
	for i, c := range t.Chains {
		if !tc.reuse(i, c) {
			tc.compileChain(i, c)
		}
	}
	if len(tc.errs) > 0 {
		return nil, 0, tc.errs
	}
	hooks, maxDepth := tc.walk()
	if len(tc.errs) > 0 {
		return nil, 0, tc.errs
	}

	// Extensions restricted to some tables or hooks (xt_check_match,
	// xt_check_target): a reused chain was checked for the same hooks.
	for i := range pt.chains {
		pc := &pt.chains[i]
		if tc.reused[i] && pc.hooks == hooks[i] {
			continue
		}
		pc.hooks = hooks[i]
		for j := range pc.rules {
			tc.checkRule(pc, j)
		}
	}
	if len(tc.errs) > 0 {
		return nil, 0, tc.errs
	}
	for i := range pt.chains {
		if tc.reused[i] {
			continue
		}
		pc := &pt.chains[i]
		for j := range pc.rules {
			if err := bindRule(&pc.rules[j], b); err != nil {
				tc.fail(pc.chain, j+1, err)
			}
		}
		if !noIndex {
			pc.index = buildIndex(pc.rules)
		}
	}
	if len(tc.errs) > 0 {
		return nil, 0, tc.errs
	}
	return pt, maxDepth, nil
}

// reuse takes chain i from the base program if its rules are the same,
// resolving its jumps by name in t; it reports whether it did.
func (tc *tableCompiler) reuse(i int, c *Chain) bool {
	if tc.base == nil {
		return false
	}
	old := tc.baseChain(i, c.Name)
	// The old chain's rules are the ones it was compiled from: a
	// compiled ruleset is not edited.
	if old == nil || old.bound || old.chain.Builtin != c.Builtin || old.chain.Hook != c.Hook || !slices.Equal(old.chain.Rules, c.Rules) {
		return false
	}
	rules, edges, copied := old.rules, old.edges, false
	for n, e := range old.edges {
		name := tc.base.chains[e.to].chain.Name
		to, ok := e.to, int(e.to) < len(tc.t.Chains) && tc.t.Chains[e.to].Name == name
		if !ok {
			to, ok = tc.t.chainPos(name)
		}
		if !ok || tc.t.Chains[to].Builtin {
			return false // compiled again, to report it
		}
		if to != e.to {
			if !copied { // the old program's rules stay as they are
				rules, edges, copied = slices.Clone(old.rules), slices.Clone(old.edges), true
			}
			edges[n].to = to
			rules[e.rule].jump = to
		}
	}
	tc.pt.chains[i] = progChain{chain: c, rules: rules, index: old.index, edges: edges, hooks: old.hooks}
	tc.reused[i] = true
	return true
}

// baseChain returns the base program's chain called name, looking first
// where chain i of the new table was.
func (tc *tableCompiler) baseChain(i int, name string) *progChain {
	if i < len(tc.base.chains) && tc.base.chains[i].chain.Name == name {
		return &tc.base.chains[i]
	}
	if tc.baseNames == nil {
		tc.baseNames = make(map[string]int32, len(tc.base.chains))
		for k := range tc.base.chains {
			tc.baseNames[tc.base.chains[k].chain.Name] = int32(k)
		}
	}
	if k, ok := tc.baseNames[name]; ok {
		return &tc.base.chains[k]
	}
	return nil
}

// compileChain compiles chain i's rules: headers, standard verdicts and
// jumps.
func (tc *tableCompiler) compileChain(i int, c *Chain) {
	pc := &tc.pt.chains[i]
	pc.chain = c
	pc.rules = make([]progRule, len(c.Rules))
	for j, r := range c.Rules {
		pr := progRule{rule: r, hdr: compileHeader(&r.Header), jump: -1, matches: r.Matches, target: r.Target}
		for _, m := range r.Matches {
			if _, ok := m.(Binder); ok {
				pc.bound = true
			}
		}
		if _, ok := r.Target.(Binder); ok {
			pc.bound = true
		}
		switch tg := r.Target.(type) {
		case nil:
		case *StandardTarget:
			pr.action = tg.Verdict
			if tg.Verdict != Accept && tg.Verdict != Drop && tg.Verdict != Return && tg.Verdict != Queue {
				tc.fail(c, j+1, fmt.Errorf("bad standard verdict %v", tg.Verdict))
			}
		case *JumpTarget:
			k, ok := tc.t.chainPos(tg.Chain)
			switch {
			case !ok:
				tc.fail(c, j+1, fmt.Errorf("jump to chain %q: %w", tg.Chain, ErrNoChain))
			case tc.t.Chains[k].Builtin:
				tc.fail(c, j+1, fmt.Errorf("cannot jump to built-in chain %q", tg.Chain))
			}
			pr.action, pr.jump = Jump, k
			if tg.Goto {
				pr.action = Goto
			}
			if ok {
				pc.edges = append(pc.edges, edge{rule: int32(j), to: k, isGoto: tg.Goto})
			}
		}
		pc.rules[j] = pr
	}
}

// walk finds loops, each chain's jump depth and the hooks each chain is
// reachable from, by a depth-first walk from each chain (the kernel's
// mark_source_chains); it returns the hooks and the deepest nesting.
func (tc *tableCompiler) walk() ([]HookMask, int) {
	pt := tc.pt
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]uint8, len(pt.chains))
	depth := make([]int32, len(pt.chains))
	hooks := make([]HookMask, len(pt.chains))
	var visit func(i int32) bool
	visit = func(i int32) bool {
		switch state[i] {
		case onPath:
			return false
		case done:
			return true
		}
		state[i] = onPath
		pc := &pt.chains[i]
		for _, e := range pc.edges {
			if !visit(e.to) {
				tc.fail(pc.chain, int(e.rule)+1, fmt.Errorf("%w: jump to %q leads back to %q", ErrLoop, pt.chains[e.to].chain.Name, pc.chain.Name))
				state[i] = done
				return true // report once, from the rule that closes the loop
			}
			d := depth[e.to]
			if !e.isGoto {
				d++
			}
			depth[i] = max(depth[i], d)
		}
		state[i] = done
		return true
	}
	for i := range pt.chains {
		visit(int32(i))
	}
	if len(tc.errs) > 0 {
		return nil, 0
	}
	var mark func(i int32, m HookMask)
	mark = func(i int32, m HookMask) {
		if hooks[i]&m == m {
			return
		}
		hooks[i] |= m
		for _, e := range pt.chains[i].edges {
			mark(e.to, m)
		}
	}
	maxDepth := 0
	for h, i := range pt.entry {
		if i >= 0 {
			mark(i, Hooks(Hook(h)))
			maxDepth = max(maxDepth, int(depth[i]))
		}
	}
	return hooks, maxDepth
}

// checkRule checks rule j of pc's extensions against where they are used
// (table, hooks, protocol) and against their own CheckRule.
func (tc *tableCompiler) checkRule(pc *progChain, j int) {
	r := pc.rules[j].rule
	check := func(x any) {
		if err := checkAllowed(x, tc.t.ID, pc.hooks); err != nil {
			tc.fail(pc.chain, j+1, err)
		}
		if err := checkProto(x, r); err != nil {
			tc.fail(pc.chain, j+1, err)
		}
		if rc, ok := x.(RuleChecker); ok {
			if err := rc.CheckRule(r, Site{Family: tc.family, Table: tc.t.ID, Hooks: pc.hooks}); err != nil {
				tc.fail(pc.chain, j+1, fmt.Errorf("%s: %w", extName(x), err))
			}
		}
	}
	for _, m := range r.Matches {
		check(m)
	}
	if r.Target != nil {
		check(r.Target)
	}
}

// noIndex turns the chain index off, for the tests that compare the
// indexed traversal with the linear one.
var noIndex bool

// bindRule replaces the rule's extensions that are Binders by the bound
// ones Bind returns, in the program's copies of its matches and target.
func bindRule(pr *progRule, b *Binding) error {
	copied := false
	for k, m := range pr.matches {
		bm, ok := m.(Binder)
		if !ok {
			continue
		}
		x, err := bm.Bind(b)
		if err != nil {
			return fmt.Errorf("%s: %w", extName(m), err)
		}
		if !copied {
			pr.matches = append([]Match(nil), pr.matches...)
			copied = true
		}
		pr.matches[k] = x.(Match)
	}
	if bt, ok := pr.target.(Binder); ok {
		x, err := bt.Bind(b)
		if err != nil {
			return fmt.Errorf("%s: %w", extName(pr.target), err)
		}
		pr.target = x.(Target)
	}
	return nil
}

// ProtoBound is implemented by a match or target that works for one
// transport protocol only (the kernel's xt_match.proto and
// xt_target.proto): a rule that uses it must say -p with that protocol.
// Compile checks it for every extension, in one place.
type ProtoBound interface {
	// RequiredProto returns the protocol, and whether "! -p" is let
	// through all the same: xt_check_match refuses it, but iptables-nft
	// turns its native tcp and udp matches into payload expressions and
	// never asks the kernel.
	RequiredProto() (proto uint8, invertOK bool)
}

// ErrProtocol is the error for a rule whose -p does not give the
// protocol one of its extensions needs.
var ErrProtocol = errors.New("protocol mismatch")

// protoNames are the names -p gives the protocols extensions are bound
// to, for messages.
var protoNames = map[uint8]string{
	packet.ProtoICMP: "icmp", packet.ProtoTCP: "tcp", packet.ProtoUDP: "udp", packet.ProtoICMPv6: "ipv6-icmp",
	packet.ProtoSCTP: "sctp", packet.ProtoDCCP: "dccp", packet.ProtoUDPLite: "udplite", packet.ProtoGRE: "gre",
	packet.ProtoESP: "esp", packet.ProtoAH: "ah",
}

// checkProto refuses x in rule r if x is bound to a protocol r's -p does
// not give.
func checkProto(x any, r *Rule) error {
	pb, ok := x.(ProtoBound)
	if !ok {
		return nil
	}
	proto, invertOK := pb.RequiredProto()
	if r.Proto == proto && (!r.ProtoInvert || invertOK) {
		return nil
	}
	kind := "match"
	if _, isTarget := x.(Target); isTarget {
		kind = "target"
	}
	name, ok := protoNames[proto]
	if !ok {
		name = fmt.Sprint(proto)
	}
	return fmt.Errorf("%w: %s %s requires '-p %s'", ErrProtocol, extName(x), kind, name)
}

// Namer is implemented by extensions to name themselves in messages.
type Namer interface {
	Name() string
}

func extName(x any) string {
	if n, ok := x.(Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", x)
}

func checkAllowed(x any, t TableID, used HookMask) error {
	r, ok := x.(Restricted)
	if !ok {
		return nil
	}
	tables, hooks := r.Allowed()
	kind := "match"
	if _, isTarget := x.(Target); isTarget {
		kind = "target"
	}
	if tables != 0 && !tables.Has(t) {
		var names []string
		for id := range NumTables {
			if tables.Has(id) {
				names = append(names, id.String())
			}
		}
		return fmt.Errorf("%w: %s %s: only valid in %s table, not %s", ErrNotAllowed, extName(x), kind, strings.Join(names, "/"), t)
	}
	if hooks != 0 && used&^hooks != 0 {
		return fmt.Errorf("%w: %s %s: used from hooks %s, but only usable from %s", ErrNotAllowed, extName(x), kind, hookList(used), hookList(hooks))
	}
	return nil
}

func hookList(m HookMask) string {
	var names []string
	for h := range NumHooks {
		if m.Has(h) {
			names = append(names, h.String())
		}
	}
	return strings.Join(names, "/")
}
