package filter

import (
	"errors"
	"fmt"

	"github.com/nfgo/nfgo/packet"
)

// SetDims is the most dimensions a set's element has (IPSET_DIM_MAX).
const SetDims = 6

// SetQuery is how a rule asks a set about a packet (struct
// ip_set_adt_opt): which of the packet's fields each dimension takes,
// and the flags of -m set and -j SET.
type SetQuery struct {
	// Dim is the number of dimensions given ("src,dst" is 2), Src says
	// for each whether it takes the packet's source (else its
	// destination).
	Dim int
	Src [SetDims]bool
	// ReturnNomatch makes an element added as nomatch match, and a
	// matching element not match (--return-nomatch).
	ReturnNomatch bool
	// NoCounters and NoSubcounters are ! --update-counters and
	// ! --update-subcounters.
	NoCounters, NoSubcounters bool
	// Packets and Bytes test the matching element's counters, after the
	// packet is counted (--packets-eq and the like).
	Packets, Bytes CounterTest
}

// CounterOp compares a set element's counter (IPSET_COUNTER_*).
type CounterOp uint8

// The comparisons.
const (
	CounterNone CounterOp = iota
	CounterEq
	CounterNe
	CounterLt
	CounterGt
)

// CounterTest is one counter comparison.
type CounterTest struct {
	Op    CounterOp
	Value uint64
}

// Holds reports whether v passes the test.
func (t CounterTest) Holds(v uint64) bool {
	switch t.Op {
	case CounterEq:
		return v == t.Value
	case CounterNe:
		return v != t.Value
	case CounterLt:
		return v < t.Value
	case CounterGt:
		return v > t.Value
	}
	return true
}

// IPSet is a set as rules use it (package ipset implements it): looked up
// with a packet, and changed by -j SET. Its methods must not allocate
// for a lookup, and are called concurrently.
type IPSet interface {
	// Test reports whether the packet, as q takes its fields, is in the
	// set, counting it on the element found unless q says not to.
	Test(c *Context, q *SetQuery) bool
	// Add adds the packet's element (-j SET --add-set) with timeout
	// seconds (or the set's default when 0 and useDefault); exist
	// refreshes an element that is there.
	Add(c *Context, q *SetQuery, timeout uint32, useDefault, exist bool)
	// Del deletes the packet's element (--del-set).
	Del(c *Context, q *SetQuery)
	// SkbInfo returns the skbinfo of the element the packet matches
	// (--map-set), ok=false if none does.
	SkbInfo(c *Context, q *SetQuery) (info SkbInfo, ok bool)
	// Family is the set's address family, 0 for a set without
	// addresses (bitmap:port, hash:mac, list:set).
	Family() packet.Family
	// Release gives up the rule's hold on the set.
	Release()
}

// SkbInfo is a set element's skbinfo extension: what -j SET --map-set
// gives the packets that match it.
type SkbInfo struct {
	Mark, MarkMask uint32
	// Prio is a tc class, major<<16 | minor.
	Prio  uint32
	Queue uint16
	// HasMark, HasPrio and HasQueue say which were given.
	HasMark, HasPrio, HasQueue bool
}

// SetResolver finds sets by name, for Bind: an engine's ipset.Sets. A
// set found is held until the IPSet is released.
type SetResolver interface {
	LookupSet(name string) (IPSet, error)
}

// ErrNoSet is what a rule naming a set that does not exist fails with
// (errors.Is); the error itself is a *NoSetError.
var ErrNoSet = errors.New("no such set")

// ErrSetFamily is the error for a rule naming a set of the other
// address family.
var ErrSetFamily = errors.New("set family mismatch")

// SetFamilyError is a rule naming a set of the other family.
type SetFamilyError struct {
	Name   string
	Family packet.Family
}

func (e *SetFamilyError) Error() string {
	return fmt.Sprintf("The protocol family of set %s is %s, which is not applicable.", e.Name, e.Family)
}

// Is makes errors.Is(err, ErrSetFamily) true.
func (e *SetFamilyError) Is(target error) bool { return target == ErrSetFamily }

// NoSetError names the set a rule refers to that does not exist.
type NoSetError struct{ Name string }

func (e *NoSetError) Error() string { return "Set " + e.Name + " doesn't exist." }

// Is makes errors.Is(err, ErrNoSet) true.
func (e *NoSetError) Is(target error) bool { return target == ErrNoSet }

// lookupSet resolves a set name through the binding's resolver, and
// records that the program holds the set.
func lookupSet(b *Binding, name string) (IPSet, error) {
	if b.objs.Sets == nil {
		return nil, &NoSetError{Name: name}
	}
	s, err := b.objs.Sets.LookupSet(name)
	if err != nil {
		return nil, &NoSetError{Name: name}
	}
	b.Hold(s.Release)
	if f := s.Family(); f != 0 && f != b.family {
		return nil, &SetFamilyError{Name: name, Family: f}
	}
	return s, nil
}

// SetMatch is -m set (xt_set.c, revision 4): whether the packet's
// fields, as Query takes them, are in the set called Set.
type SetMatch struct {
	Set    string
	Query  SetQuery
	Invert bool

	set IPSet // bound
}

// Name returns "set".
func (*SetMatch) Name() string { return "set" }

// Bind finds the set; a rule naming a set that does not exist is
// refused, as xt_set's checkentry refuses it.
func (m *SetMatch) Bind(b *Binding) (any, error) {
	s, err := lookupSet(b, m.Set)
	if err != nil {
		return nil, err
	}
	bound := *m
	bound.set = s
	return &bound, nil
}

// Match looks the packet up (set_match_v4).
func (m *SetMatch) Match(c *Context) bool {
	if m.set == nil {
		return false
	}
	return m.set.Test(c, &m.Query) != m.Invert
}

// SetTarget is -j SET (xt_set.c, revision 3): it adds the packet's
// element to one set, deletes it from another, or copies the skbinfo of
// the element it matches in a third to the packet, and continues.
type SetTarget struct {
	AddSet, DelSet, MapSet string
	Add, Del, Map          SetQuery
	// Exist refreshes the timeout of an element that is there
	// (--exist); Timeout is --timeout (0 and !HasTimeout: the set's
	// default).
	Exist      bool
	Timeout    uint32
	HasTimeout bool
	// MapMark, MapPrio and MapQueue are --map-mark, --map-prio and
	// --map-queue.
	MapMark, MapPrio, MapQueue bool

	add, del, mapped IPSet // bound
}

// Name returns "SET".
func (*SetTarget) Name() string { return "SET" }

// Bind finds the sets.
func (t *SetTarget) Bind(b *Binding) (any, error) {
	bound := *t
	for _, s := range []struct {
		name string
		to   *IPSet
	}{{t.AddSet, &bound.add}, {t.DelSet, &bound.del}, {t.MapSet, &bound.mapped}} {
		if s.name == "" {
			continue
		}
		set, err := lookupSet(b, s.name)
		if err != nil {
			return nil, err
		}
		*s.to = set
	}
	return &bound, nil
}

// Allowed is set_target_v3_checkentry's: a target that maps marks,
// priorities or queues belongs in the mangle table, and one that maps
// priorities or queues in OUTPUT, FORWARD or POSTROUTING.
func (t *SetTarget) Allowed() (TableMask, HookMask) {
	if t.MapSet == "" || !(t.MapMark || t.MapPrio || t.MapQueue) {
		return 0, 0
	}
	if t.MapPrio || t.MapQueue {
		return Tables(Mangle), Hooks(Output, Forward, Postrouting)
	}
	return Tables(Mangle), 0
}

// Do changes the sets and continues (set_target_v3).
func (t *SetTarget) Do(c *Context) Verdict {
	if t.add != nil {
		t.add.Add(c, &t.Add, t.Timeout, !t.HasTimeout, t.Exist)
	}
	if t.del != nil {
		t.del.Del(c, &t.Del)
	}
	if t.mapped != nil {
		if info, ok := t.mapped.SkbInfo(c, &t.Map); ok {
			if t.MapMark && info.HasMark {
				c.Mark = c.Mark&^info.MarkMask ^ info.Mark
			}
			if t.MapPrio && info.HasPrio {
				c.Priority = info.Prio
			}
			if t.MapQueue && info.HasQueue {
				c.QueueMapping, c.HasQueueMapping = info.Queue, true
			}
		}
	}
	return Verdict{Action: Continue}
}
