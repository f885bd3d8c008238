// Package nfq is nfgo's NFQUEUE transport: it binds netfilter queues
// over a netlink socket, receives the packets the kernel queues (many per
// system call, parsed in place), and sends verdicts back in batches (many
// per system call, runs of the same verdict folded into one
// NFQNL_MSG_VERDICT_BATCH).
//
// It speaks nfnetlink_queue directly on golang.org/x/sys/unix, and in
// steady state it allocates nothing per packet: a Queue owns one receive
// buffer and one send buffer, and a Packet is a view into the receive
// buffer that the next Receive overwrites.
//
// A Queue is meant to be served by one goroutine, locked to its thread,
// in a loop of Receive, judge every packet, SetVerdict, Flush. Several
// queues (--queue-balance 0:3) are several Queues, each with its own
// goroutine.
//
// The kernel's rules, which this package does not hide:
//   - Binding a queue needs CAP_NET_ADMIN in the network namespace; a
//     queue can be bound by one socket at a time (EBUSY otherwise).
//   - Packets queued while no socket is bound are dropped, unless the
//     rule has --queue-bypass. Packets a Queue still holds when it is
//     closed are dropped by the kernel: Close first drains what is
//     already queued, giving each packet the verdict the caller chooses.
//   - With fail-open, packets that do not fit in the queue or the socket
//     buffer are accepted instead of dropped.
//   - With GSO, packets may be up to 64 KB and carry partial checksums
//     (Packet.ChecksumNotReady); a replaced payload is marked
//     CHECKSUM_NONE by the kernel, so it must carry a full checksum.
//   - A replacement payload must keep the IP header's length, options and
//     fragment fields consistent (kernels from 2026 validate them).
package nfq
