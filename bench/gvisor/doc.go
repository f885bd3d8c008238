// Package gvisor benchmarks nfgo against its closest peer, gVisor's
// netstack iptables and conntrack, on the same packets and rules.
package gvisor
