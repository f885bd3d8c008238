// Package iptables reads and writes rulesets in the text format of
// iptables-save and iptables-restore, for IPv4 (iptables) and IPv6
// (ip6tables).
//
// [Read] accepts what iptables-restore accepts — tables, chain
// declarations with counters, -A/-I/-D/-R/-N/-X/-F/-P/-E/-Z commands,
// quoting, comments, COMMIT, and --noflush — and rejects what it rejects,
// with the line number and a reason in iptables' words. [Write] prints a
// ruleset in exactly the canonical form iptables-save prints: the header
// in its order, implied matches made explicit, ranges, masks and prefixes
// normalised, and '!' where iptables puts it.
//
// Each match and target extension has its syntax here, in a file named
// after it, and its semantics in package filter.
package iptables
