package filter

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nfgo/nfgo/packet"
)

// Sentinel errors for conditions callers branch on. Errors returned by the
// Ruleset methods wrap them with context.
var (
	ErrNoChain       = errors.New("no chain/target/match by that name")
	ErrChainExists   = errors.New("chain already exists")
	ErrChainInUse    = errors.New("chain is still referenced")
	ErrChainNotEmpty = errors.New("chain is not empty")
	ErrBuiltinChain  = errors.New("built-in chain")
	ErrNoRule        = errors.New("index of rule is out of range")
	ErrLoop          = errors.New("chain loop")
	ErrNotAllowed    = errors.New("not allowed here")
	ErrBadPolicy     = errors.New("bad built-in chain policy")
)

// Policy is a built-in chain's policy.
type Policy uint8

// The policies. User chains have PolicyNone.
const (
	PolicyNone Policy = iota
	PolicyAccept
	PolicyDrop
)

// String returns the policy as iptables-save prints it ("-" for none).
func (p Policy) String() string {
	switch p {
	case PolicyAccept:
		return "ACCEPT"
	case PolicyDrop:
		return "DROP"
	}
	return "-"
}

// Chain is a chain of rules. A built-in chain has a hook and a policy.
type Chain struct {
	Name    string
	Builtin bool
	Hook    Hook // valid if Builtin
	Policy  Policy
	Rules   []*Rule
	// Counters count the packets that took the policy.
	Counters Counters
	// Line is where the chain was declared (0 if built in Go).
	Line int
}

// Table is one table's chains: the built-in chains first, in hook order,
// then the user chains in creation order.
//
// Chains may be read directly; edit it through the Ruleset's methods
// (NewChain, DeleteChain, RenameChain), which keep Chain's index of
// names right.
type Table struct {
	ID     TableID
	Chains []*Chain
	// names finds chains by name once the table is long enough to need
	// it (kube-proxy's 30,000 chains). See chainNames.
	names chainNames
}

// chainIndexMin is how many chains a table has before Chain indexes
// them.
const chainIndexMin = 32

// chainNames maps chain names to positions in Table.Chains. Its base
// map is never written once built, so clones of a table share it and a
// Clone costs nothing for it; chains created since are in added, the
// table's own. An entry counts only when the chain at its position has
// that name, and covered says how many chains the maps hold: when that
// is not len(Chains) (the slice was edited directly) they are built
// again. Deleting or renaming a chain drops them.
type chainNames struct {
	base    map[string]int32
	added   map[string]int32
	covered int
	// dups is set when two chains of the table had one name when the
	// maps were built (only a direct edit of Chains can do that).
	dups bool
}

// chainFoldMin is how many chains added may hold before a Clone folds
// them into a new base map.
const chainFoldMin = 64

// Chain returns the chain called name, or nil.
func (t *Table) Chain(name string) *Chain {
	if i, ok := t.chainPos(name); ok {
		return t.Chains[i]
	}
	return nil
}

// chainPos returns the position of the first chain called name.
func (t *Table) chainPos(name string) (int32, bool) {
	if len(t.Chains) < chainIndexMin {
		for i, c := range t.Chains {
			if c.Name == name {
				return int32(i), true
			}
		}
		return 0, false
	}
	n := &t.names
	if n.base == nil || n.covered != len(t.Chains) {
		n.build(t.Chains)
	}
	if i, ok := n.added[name]; ok && t.Chains[i].Name == name {
		return i, true
	}
	if i, ok := n.base[name]; ok && t.Chains[i].Name == name {
		return i, true
	}
	return 0, false
}

func (n *chainNames) build(chains []*Chain) {
	n.base = make(map[string]int32, len(chains))
	n.dups = false
	for i, c := range chains {
		if _, dup := n.base[c.Name]; !dup {
			n.base[c.Name] = int32(i) // the first, as the linear search finds
		} else {
			n.dups = true
		}
	}
	n.added, n.covered = nil, len(chains)
}

// mayHaveDuplicates reports whether two of t's chains may have one name:
// false when the index of names says they cannot.
func (t *Table) mayHaveDuplicates() bool {
	if len(t.Chains) < chainIndexMin {
		return true
	}
	t.chainPos("")
	return t.names.dups
}

// chainAdded records the chain just appended to t.Chains.
func (t *Table) chainAdded(name string) {
	n := &t.names
	if n.base == nil || n.covered != len(t.Chains)-1 {
		return // built on the next lookup
	}
	if _, dup := n.base[name]; dup {
		n.base = nil // keep "the first of that name" exact
		return
	}
	if n.added == nil {
		n.added = make(map[string]int32)
	}
	if _, dup := n.added[name]; !dup {
		n.added[name] = int32(len(t.Chains) - 1)
	}
	n.covered++
}

// chainsChanged drops the index of names after chains were removed or
// renamed.
func (t *Table) chainsChanged() { t.names = chainNames{} }

// cloneNames gives a copy of t the index t has: the base shared, added
// copied (or folded into a new base once it is large).
func (n *chainNames) clone(chains []*Chain) chainNames {
	if n.base == nil || n.covered != len(chains) {
		return chainNames{}
	}
	if len(n.added) >= chainFoldMin {
		var folded chainNames
		folded.build(chains)
		return folded
	}
	c := chainNames{base: n.base, covered: n.covered, dups: n.dups}
	if len(n.added) > 0 {
		c.added = make(map[string]int32, len(n.added))
		for k, v := range n.added {
			c.added[k] = v
		}
	}
	return c
}

// Ruleset is the editable iptables document for one family: what
// iptables-save prints and iptables-restore reads. Its methods edit it the
// way iptables commands do and return the same errors. A Ruleset is not
// safe for concurrent edits; compile it and hand the Program to readers.
type Ruleset struct {
	Family packet.Family
	tables [NumTables]*Table
}

// NewRuleset returns an empty ruleset for the family.
func NewRuleset(f packet.Family) *Ruleset { return &Ruleset{Family: f} }

// Table returns table id, or nil if the ruleset does not have it. A table
// that was never created costs nothing at its hooks, like an unloaded
// kernel module.
func (rs *Ruleset) Table(id TableID) *Table {
	if id >= NumTables {
		return nil
	}
	return rs.tables[id]
}

// EnsureTable returns table id, creating it with its built-in chains
// (policy ACCEPT) if needed.
func (rs *Ruleset) EnsureTable(id TableID) *Table {
	if t := rs.tables[id]; t != nil {
		return t
	}
	t := &Table{ID: id}
	for h := range NumHooks {
		if id.BuiltinHooks().Has(h) {
			t.Chains = append(t.Chains, &Chain{Name: h.String(), Builtin: true, Hook: h, Policy: PolicyAccept})
		}
	}
	rs.tables[id] = t
	return t
}

// Tables returns the tables the ruleset has, in TableID order.
func (rs *Ruleset) Tables() []*Table {
	var ts []*Table
	for _, t := range rs.tables {
		if t != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// DropTable removes a table entirely (what iptables-restore does to a
// table it is about to rewrite, without --noflush).
func (rs *Ruleset) DropTable(id TableID) { rs.tables[id] = nil }

// Clone returns a copy that can be edited without affecting rs. Rules are
// shared, so their counters carry over to the copy, as they do across an
// iptables command that replaces the table.
//
// A clone costs one copy of each chain and of each rule pointer, in a
// few allocations, so that kube-proxy's --noflush update of one service
// in a 70,000-rule table stays cheap.
func (rs *Ruleset) Clone() *Ruleset {
	c := &Ruleset{Family: rs.Family}
	for i, t := range rs.tables {
		if t == nil {
			continue
		}
		total := 0
		for _, ch := range t.Chains {
			total += len(ch.Rules)
		}
		chains := make([]Chain, len(t.Chains))
		rules := make([]*Rule, total)
		nt := &Table{ID: t.ID, Chains: make([]*Chain, len(t.Chains))}
		for j, ch := range t.Chains {
			nc := &chains[j]
			nc.Name, nc.Builtin, nc.Hook, nc.Policy, nc.Line = ch.Name, ch.Builtin, ch.Hook, ch.Policy, ch.Line
			if len(ch.Rules) > 0 {
				n := copy(rules, ch.Rules)
				nc.Rules, rules = rules[:n:n], rules[n:] // capped: an append copies
			}
			p, b := ch.Counters.Load()
			nc.Counters.Set(p, b)
			nt.Chains[j] = nc
		}
		nt.names = t.names.clone(t.Chains)
		c.tables[i] = nt
	}
	return c
}

func (rs *Ruleset) chain(table TableID, name string) (*Table, *Chain, error) {
	t := rs.EnsureTable(table)
	c := t.Chain(name)
	if c == nil {
		return t, nil, fmt.Errorf("%s: chain %q: %w", table, name, ErrNoChain)
	}
	return t, c, nil
}

// NewChain creates a user chain (iptables -N).
func (rs *Ruleset) NewChain(table TableID, name string) error {
	if err := ValidChainName(name); err != nil {
		return err
	}
	t := rs.EnsureTable(table)
	if t.Chain(name) != nil {
		return fmt.Errorf("%s: chain %q: %w", table, name, ErrChainExists)
	}
	t.Chains = append(t.Chains, &Chain{Name: name, Policy: PolicyNone})
	t.chainAdded(name)
	return nil
}

// ValidChainName checks a user chain name as iptables does: at most 28
// characters, not starting with '-' or '!', no whitespace, and not a
// target name.
func ValidChainName(name string) error {
	switch {
	case name == "":
		return errors.New("empty chain name")
	case len(name) > 28:
		return fmt.Errorf("chain name %q too long (must be under 29 chars)", name)
	case name[0] == '-' || name[0] == '!':
		return fmt.Errorf("chain name %q may not start with '-' or '!'", name)
	}
	for _, r := range name {
		if r == ' ' || r == '\t' || r == '\n' {
			return fmt.Errorf("invalid chain name %q", name)
		}
	}
	switch name {
	case "ACCEPT", "DROP", "QUEUE", "RETURN":
		return fmt.Errorf("chain name %q is a standard target", name)
	}
	return nil
}

// DeleteChain deletes an empty, unreferenced user chain (iptables -X).
func (rs *Ruleset) DeleteChain(table TableID, name string) error {
	t, c, err := rs.chain(table, name)
	if err != nil {
		return err
	}
	if c.Builtin {
		return fmt.Errorf("%s: chain %q: %w: cannot delete", table, name, ErrBuiltinChain)
	}
	if n := rs.references(t, name); n > 0 {
		return fmt.Errorf("%s: chain %q: %w by %d rule(s)", table, name, ErrChainInUse, n)
	}
	if len(c.Rules) > 0 {
		return fmt.Errorf("%s: chain %q: %w", table, name, ErrChainNotEmpty)
	}
	t.Chains = slices.DeleteFunc(t.Chains, func(x *Chain) bool { return x == c })
	t.chainsChanged()
	return nil
}

// DeleteUserChains deletes every empty, unreferenced user chain of the
// table, as iptables -X without a name does.
func (rs *Ruleset) DeleteUserChains(table TableID) error {
	t := rs.EnsureTable(table)
	for _, c := range slices.Clone(t.Chains) {
		if !c.Builtin {
			if err := rs.DeleteChain(table, c.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// references counts the rules in t that jump or go to the chain.
func (rs *Ruleset) references(t *Table, name string) int {
	n := 0
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if j, ok := r.Target.(*JumpTarget); ok && j.Chain == name {
				n++
			}
		}
	}
	return n
}

// Flush deletes every rule of a chain (iptables -F CHAIN), or of every
// chain in the table when name is "".
func (rs *Ruleset) Flush(table TableID, name string) error {
	if name == "" {
		for _, c := range rs.EnsureTable(table).Chains {
			c.Rules = nil
		}
		return nil
	}
	_, c, err := rs.chain(table, name)
	if err != nil {
		return err
	}
	c.Rules = nil
	return nil
}

// SetPolicy sets a built-in chain's policy (iptables -P).
func (rs *Ruleset) SetPolicy(table TableID, name string, p Policy) error {
	_, c, err := rs.chain(table, name)
	if err != nil {
		return err
	}
	if !c.Builtin {
		return fmt.Errorf("%s: chain %q: %w: only built-in chains have a policy", table, name, ErrBadPolicy)
	}
	if p != PolicyAccept && p != PolicyDrop {
		return fmt.Errorf("%s: chain %q: %w %v", table, name, ErrBadPolicy, p)
	}
	c.Policy = p
	return nil
}

// Append adds a rule at the end of a chain (iptables -A).
func (rs *Ruleset) Append(table TableID, chain string, r *Rule) error {
	_, c, err := rs.chain(table, chain)
	if err != nil {
		return err
	}
	c.Rules = append(c.Rules, r)
	return nil
}

// Insert inserts a rule before the rule at 1-based position pos
// (iptables -I CHAIN pos); pos may be one past the last rule.
func (rs *Ruleset) Insert(table TableID, chain string, pos int, r *Rule) error {
	_, c, err := rs.chain(table, chain)
	if err != nil {
		return err
	}
	if pos < 1 || pos > len(c.Rules)+1 {
		return fmt.Errorf("%s: chain %q: insert at %d: %w", table, chain, pos, ErrNoRule)
	}
	c.Rules = slices.Insert(c.Rules, pos-1, r)
	return nil
}

// Replace replaces the rule at 1-based position pos (iptables -R).
func (rs *Ruleset) Replace(table TableID, chain string, pos int, r *Rule) error {
	_, c, err := rs.chain(table, chain)
	if err != nil {
		return err
	}
	if pos < 1 || pos > len(c.Rules) {
		return fmt.Errorf("%s: chain %q: replace %d: %w", table, chain, pos, ErrNoRule)
	}
	c.Rules[pos-1] = r
	return nil
}

// Delete deletes the rule at 1-based position pos (iptables -D CHAIN pos).
func (rs *Ruleset) Delete(table TableID, chain string, pos int) error {
	_, c, err := rs.chain(table, chain)
	if err != nil {
		return err
	}
	if pos < 1 || pos > len(c.Rules) {
		return fmt.Errorf("%s: chain %q: delete %d: %w", table, chain, pos, ErrNoRule)
	}
	c.Rules = slices.Delete(c.Rules, pos-1, pos)
	return nil
}

// RenameChain renames a user chain and every jump to it (iptables -E).
func (rs *Ruleset) RenameChain(table TableID, from, to string) error {
	t, c, err := rs.chain(table, from)
	if err != nil {
		return err
	}
	if c.Builtin {
		return fmt.Errorf("%s: chain %q: %w: cannot rename", table, from, ErrBuiltinChain)
	}
	if err := ValidChainName(to); err != nil {
		return err
	}
	if t.Chain(to) != nil {
		return fmt.Errorf("%s: chain %q: %w", table, to, ErrChainExists)
	}
	c.Name = to
	t.chainsChanged()
	for _, ch := range t.Chains {
		for i, r := range ch.Rules {
			if j, ok := r.Target.(*JumpTarget); ok && j.Chain == from {
				nr := r.cloneShallow()
				nr.Target = &JumpTarget{Chain: to, Goto: j.Goto}
				ch.Rules[i] = nr
			}
		}
	}
	return nil
}

// cloneShallow copies a rule's configuration (not its counters).
func (r *Rule) cloneShallow() *Rule {
	return &Rule{Header: r.Header, Matches: r.Matches, Target: r.Target, Line: r.Line}
}
