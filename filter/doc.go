// Package filter is the iptables model: tables, chains, rules, matches and
// targets, their validation as the kernel validates them, and the traversal
// of a compiled ruleset for one packet at one hook.
//
// # Model and program
//
// A [Ruleset] is the editable document, what iptables-save prints: per table,
// the chains with their policies and rules. It has a Go API to add, insert,
// delete and replace rules and chains. [Compile] validates a Ruleset as the
// kernel would (unknown jump targets, loops, targets used in the wrong table
// or hook) and produces an immutable [Program], which is what packets run
// through. Swapping one Program for another through an atomic pointer is how
// a ruleset is replaced while packets flow: a reader sees the old program or
// the new one, never half of each.
//
// # Traversal
//
// [Program.Run] walks one table's built-in chain for a hook the way the
// kernel's ipt_do_table does: jumps push a return point, gotos do not,
// RETURN and falling off the end of a user chain pop, and falling off a
// built-in chain applies its policy.
package filter
