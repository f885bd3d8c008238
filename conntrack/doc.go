// Package conntrack is connection tracking as the kernel's nf_conntrack
// does it: a table of connections found from either direction, the
// protocol trackers (TCP with window tracking, SCTP with its
// verification tags, UDP, UDP-Lite, ICMP, ICMPv6, GRE and a generic one,
// which DCCP uses as in kernels since 6.16), the states and status bits the
// state and conntrack matches test, and the timeouts of the
// nf_conntrack_* sysctls.
//
// # Vocabulary
//
// The words are the kernel's. A connection's original [Tuple] is the one
// of its first packet; its reply tuple is what a packet in the other
// direction carries. A packet's [State] is NEW, ESTABLISHED, RELATED,
// INVALID or UNTRACKED, with [Dir] telling whether it travels in the
// reply direction (the kernel's IS_REPLY). [Status] holds the IPS_* bits:
// SEEN_REPLY, ASSURED, CONFIRMED and the NAT bits.
package conntrack
