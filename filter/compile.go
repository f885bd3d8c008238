package filter

import (
	"errors"
	"fmt"
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
	p := &Program{family: rs.Family, source: rs, objs: objs}
	b := &Binding{objs: objs, family: rs.Family}
	var errs []error
	for _, t := range rs.tables {
		if t == nil {
			continue
		}
		pt, depth, terrs := compileTable(t, rs.Family, b)
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
	return p, nil
}

func compileTable(t *Table, family packet.Family, b *Binding) (*progTable, int, []error) {
	var errs []error
	fail := func(c *Chain, i int, err error) {
		line := c.Line
		if i > 0 {
			line = c.Rules[i-1].Line
		}
		errs = append(errs, &RuleError{Line: line, Table: t.ID, Chain: c.Name, Rule: i, Err: err})
	}
	pt := &progTable{id: t.ID, chains: make([]progChain, len(t.Chains))}
	for h := range pt.entry {
		pt.entry[h] = -1
	}
	index := make(map[string]int32, len(t.Chains))
	for i, c := range t.Chains {
		if _, dup := index[c.Name]; dup {
			fail(c, 0, fmt.Errorf("chain %q: %w", c.Name, ErrChainExists))
		}
		index[c.Name] = int32(i)
		if c.Builtin {
			if !t.ID.BuiltinHooks().Has(c.Hook) {
				fail(c, 0, fmt.Errorf("table %s has no built-in chain %s", t.ID, c.Hook))
				continue
			}
			pt.entry[c.Hook] = int32(i)
		}
	}
	for i, c := range t.Chains {
		pc := &pt.chains[i]
		pc.chain = c
		pc.rules = make([]progRule, len(c.Rules))
		for j, r := range c.Rules {
			pr := progRule{rule: r, hdr: compileHeader(&r.Header), jump: -1, matches: r.Matches, target: r.Target}
			switch tg := r.Target.(type) {
			case nil:
			case *StandardTarget:
				pr.action = tg.Verdict
				if tg.Verdict != Accept && tg.Verdict != Drop && tg.Verdict != Return && tg.Verdict != Queue {
					fail(c, j+1, fmt.Errorf("bad standard verdict %v", tg.Verdict))
				}
			case *JumpTarget:
				k, ok := index[tg.Chain]
				switch {
				case !ok:
					fail(c, j+1, fmt.Errorf("jump to chain %q: %w", tg.Chain, ErrNoChain))
				case t.Chains[k].Builtin:
					fail(c, j+1, fmt.Errorf("cannot jump to built-in chain %q", tg.Chain))
				}
				pr.action, pr.jump = Jump, k
				if tg.Goto {
					pr.action = Goto
				}
			}
			pc.rules[j] = pr
		}
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}

	// Loops, reachability and stack depth, by a depth-first walk from
	// each built-in chain (the kernel's mark_source_chains).
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]uint8, len(pt.chains))
	depth := make([]int, len(pt.chains))
	hooks := make([]HookMask, len(pt.chains))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case onPath:
			return false
		case done:
			return true
		}
		state[i] = onPath
		for j, r := range pt.chains[i].rules {
			if r.jump < 0 {
				continue
			}
			if !visit(int(r.jump)) {
				fail(pt.chains[i].chain, j+1, fmt.Errorf("%w: jump to %q leads back to %q", ErrLoop, pt.chains[r.jump].chain.Name, pt.chains[i].chain.Name))
				state[i] = done
				return true // report once, from the rule that closes the loop
			}
			d := depth[r.jump]
			if r.action == Jump {
				d++
			}
			depth[i] = max(depth[i], d)
		}
		state[i] = done
		return true
	}
	for i := range pt.chains {
		visit(i)
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	var mark func(i int, m HookMask)
	mark = func(i int, m HookMask) {
		if hooks[i]&m == m {
			return
		}
		hooks[i] |= m
		for _, r := range pt.chains[i].rules {
			if r.jump >= 0 {
				mark(int(r.jump), m)
			}
		}
	}
	maxDepth := 0
	for h, i := range pt.entry {
		if i >= 0 {
			mark(int(i), Hooks(Hook(h)))
			maxDepth = max(maxDepth, depth[i])
		}
	}

	// Extensions restricted to some tables or hooks (xt_check_match,
	// xt_check_target).
	for i, pc := range pt.chains {
		for j, r := range pc.rules {
			exts := make([]any, 0, len(r.rule.Matches)+1)
			for _, m := range r.rule.Matches {
				exts = append(exts, m)
			}
			if r.rule.Target != nil {
				exts = append(exts, r.rule.Target)
			}
			for _, x := range exts {
				if err := checkAllowed(x, t.ID, hooks[i]); err != nil {
					fail(pc.chain, j+1, err)
				}
				if err := checkProto(x, r.rule); err != nil {
					fail(pc.chain, j+1, err)
				}
				if rc, ok := x.(RuleChecker); ok {
					if err := rc.CheckRule(r.rule, Site{Family: family, Table: t.ID, Hooks: hooks[i]}); err != nil {
						fail(pc.chain, j+1, fmt.Errorf("%s: %w", extName(x), err))
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	for i := range pt.chains {
		for j := range pt.chains[i].rules {
			if err := bindRule(&pt.chains[i].rules[j], b); err != nil {
				fail(pt.chains[i].chain, j+1, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	if !noIndex {
		for i := range pt.chains {
			pt.chains[i].index = buildIndex(pt.chains[i].rules)
		}
	}
	return pt, maxDepth, nil
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
