// Package ctsync speaks conntrackd's state-synchronisation protocol
// (conntrack-tools 1.4.7), so that an nfgo node can replicate its
// connection table to a standby, nfgo or a stock kernel running
// conntrackd, and take over from one.
//
// # Wire format
//
// A UDP datagram carries one or more messages. Each starts with an
// 8-byte header: the protocol version (1) in the high nibble of the first
// byte and the message type in the low one, a flags byte, the message's
// length including the header (big-endian 16 bits) and a sequence number
// (big-endian 32 bits). Control messages with ACK, NACK or RESYNC carry
// a range, from and to, after it. A data message about a connection
// carries TLV attributes, each padded to 4 bytes, in the order
// conntrackd's build.c writes them.
//
// The quirks a peer must reproduce, each tested against captured
// datagrams:
//   - the NAT ports (SPAT_PORT, DPAT_PORT), the ICMP id and the SCTP
//     verification tags are in the
//     sender's host byte order, which is little-endian on the x86 and
//     arm64 machines conntrackd runs on, after a double swap in
//     build.c; [Conn] holds them in their real values;
//   - an attribute of the wrong size, or an id the receiver does not
//     know, makes conntrackd drop the whole message, so an encoder must
//     not send an id newer than the peer's version ([Version]);
//   - the first message about a connection may be an update, so a
//     receiver upserts.
//
// What is not on the wire: the reply tuple (the receiver inverts the
// original tuple and applies the NAT attributes), counters, the
// conntrack id and TCP window edges.
package ctsync
