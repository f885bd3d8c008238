// Package nfgo is Linux netfilter in userspace: it runs packets through the
// iptables tables and chains at the kernel's hooks, in the kernel's order,
// and returns a verdict that says what happened and why.
//
// # Entry points
//
// An [Engine] holds the rulesets (one per family, swapped atomically with
// [Engine.SetRuleset]) and a model of the host: its local addresses,
// routes and interfaces. [Engine.Hook] runs one hook, which is how a packet
// arrives through NFQUEUE. [Engine.Path] runs a packet's whole path through
// a host or router — PREROUTING, the routing decision, then INPUT or
// FORWARD, then POSTROUTING; OUTPUT then POSTROUTING for a packet the host
// sends — which is what nfgo replay does with a capture.
// [Engine.HookTransit] runs one hook of a packet handed over a hook at a
// time, carrying its connection in a [Transit] from hook to hook.
// [Engine.SetHost] replaces the host model as interfaces and addresses
// change. The NFQUEUE daemon built on these is package daemon.
//
// # Hot path
//
// Neither entry point allocates on the accept and drop paths: the packet is
// parsed by the caller into a reused [packet.Packet], the rules are walked
// over its parsed fields, and per-packet scratch space comes from a pool.
// Only REJECT responses and LOG lines allocate.
package nfgo
