// Package packet is a zero-copy, allocation-free view of an IPv4 or IPv6
// packet, with checksums and in-place rewriting.
//
// It is the bottom of nfgo's datapath: the filter, conntrack and NAT code all
// look at packets through a [Packet], so every operation here is built to run
// once per packet without allocating.
//
// # Decoding
//
// [Packet.Decode] parses a packet that starts at the IP header into a Packet
// that the caller owns and reuses. It never fails: a packet that cannot be
// parsed completely is classified by [Packet.Invalid] (the kernel would drop
// it or mark it INVALID), and each field's comment says up to which layer it
// is valid. The Packet keeps the caller's buffer, so the buffer must not be
// reused while the Packet is in use.
//
// Header semantics follow the Linux kernel, so that a rule written for
// iptables means the same here: IPv6 extension headers are walked as
// ipv6_skip_exthdr does, TCP options are read as tcp_parse_options and
// xt_tcpudp do, and ICMP errors carry an embedded packet that
// [Packet.Embedded] decodes with the leniency of the conntrack ICMP helpers
// (RFC 792 only promises the IP header and the first 8 bytes of L4).
//
// # Checksums and rewriting
//
// [Checksum] is the Internet checksum (RFC 1071). The Set methods
// ([Packet.SetSrc], [Packet.SetDstPort], ...) rewrite a field in place and
// update the IPv4 header checksum and the L4 checksum incrementally
// (RFC 1624), as the kernel's NAT does, so a checksum that was wrong stays
// wrong by the same amount instead of being silently repaired. They return
// false, changing nothing, when the field is absent, the address is of the
// other family, or the packet did not decode as OK ([Packet.SetTTL] and
// [Packet.SetTOS] need only a valid IP header).
//
// # Building replies
//
// [BuildTCPReset] and [BuildICMPError] build the packets that the iptables
// REJECT target sends, following nf_reject_ipv4.c, nf_reject_ipv6.c and the
// kernel's icmp_send and icmp6_send rules.
//
// # Trade-off
//
// As in Tailscale's net/packet, fields are plain integers and offsets rather
// than header objects: every code path is written twice, once per IP family,
// in exchange for a decode that costs a few nanoseconds.
package packet
