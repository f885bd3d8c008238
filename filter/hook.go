package filter

import "fmt"

// Hook is a netfilter hook: a point in the packet's path where tables run.
type Hook uint8

// The five IPv4/IPv6 netfilter hooks, in the kernel's numbering
// (NF_INET_PRE_ROUTING … NF_INET_POST_ROUTING).
const (
	Prerouting Hook = iota
	Input
	Forward
	Output
	Postrouting
	// NumHooks is the number of hooks.
	NumHooks
)

var hookNames = [NumHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// String returns the hook's built-in chain name, e.g. "PREROUTING".
func (h Hook) String() string {
	if h < NumHooks {
		return hookNames[h]
	}
	return fmt.Sprintf("hook(%d)", uint8(h))
}

// ParseHook returns the hook whose built-in chain is called name.
func ParseHook(name string) (Hook, bool) {
	for h, n := range hookNames {
		if n == name {
			return Hook(h), true
		}
	}
	return 0, false
}

// HookMask is a set of hooks, bit h for hook h.
type HookMask uint8

// Hooks returns the mask of the given hooks.
func Hooks(hs ...Hook) HookMask {
	var m HookMask
	for _, h := range hs {
		m |= 1 << h
	}
	return m
}

// Has reports whether h is in the mask.
func (m HookMask) Has(h Hook) bool { return m&(1<<h) != 0 }

// AllHooks is the mask of every hook.
const AllHooks HookMask = 1<<NumHooks - 1

// TableID names one of the five iptables tables.
type TableID uint8

// The tables, in the order iptables-save prints them is not this order;
// this is the kernel's priority order at a hook that has them all.
const (
	Raw TableID = iota
	Mangle
	NAT
	Filter
	Security
	// NumTables is the number of tables.
	NumTables
)

var tableNames = [NumTables]string{"raw", "mangle", "nat", "filter", "security"}

// String returns the table's name, e.g. "filter".
func (t TableID) String() string {
	if t < NumTables {
		return tableNames[t]
	}
	return fmt.Sprintf("table(%d)", uint8(t))
}

// ParseTable returns the table called name.
func ParseTable(name string) (TableID, bool) {
	for t, n := range tableNames {
		if n == name {
			return TableID(t), true
		}
	}
	return 0, false
}

// BuiltinHooks returns the hooks at which table t has a built-in chain
// (iptable_filter.c, iptable_nat.c, … valid_hooks).
func (t TableID) BuiltinHooks() HookMask {
	switch t {
	case Raw:
		return Hooks(Prerouting, Output)
	case Mangle:
		return AllHooks
	case NAT:
		return Hooks(Prerouting, Input, Output, Postrouting)
	case Filter, Security:
		return Hooks(Input, Forward, Output)
	}
	return 0
}

// TableMask is a set of tables, bit t for table t.
type TableMask uint8

// Tables returns the mask of the given tables.
func Tables(ts ...TableID) TableMask {
	var m TableMask
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

// Has reports whether t is in the mask.
func (m TableMask) Has(t TableID) bool { return m&(1<<t) != 0 }

// HookOrder lists, for each hook, the tables that run there in the kernel's
// priority order: raw −300, mangle −150, nat (DNAT) −100, filter 0,
// security 50, nat (SNAT) 100. Conntrack (−200) and confirmation (last) sit
// between them; the engine, not this package, places those.
var HookOrder = [NumHooks][]TableID{
	Prerouting:  {Raw, Mangle, NAT},
	Input:       {Mangle, Filter, Security, NAT},
	Forward:     {Mangle, Filter, Security},
	Output:      {Raw, Mangle, NAT, Filter, Security},
	Postrouting: {Mangle, NAT},
}
