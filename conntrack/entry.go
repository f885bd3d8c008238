package conntrack

import "time"

// connState is what the trackers and the accounting change as packets
// pass: the part of a connection every packet touches. The table stores
// it inline, beside the connection's key, and for TCP connections the TCP
// tracking state after it (see store.go).
type connState struct {
	status   Status
	mark     uint32
	deadline int64 // the table clock's nanoseconds at which it expires
	// born is when the entry was created, in ticks of 2^22 ns (about
	// 4.2 ms, the kernel's jiffy at HZ=250 is 4 ms), for UDP's "older
	// than 2 s" stream rule. It wraps after 208 days; the comparison is
	// modular.
	born uint32
	// counters are packets and bytes per direction (nf_conn_acct).
	counters [2]Counter
}

// Counter counts packets and bytes in one direction.
type Counter struct {
	Packets, Bytes uint64
}

const tickShift = 22

func ticks(ns int64) uint32 { return uint32(ns >> tickShift) }

func (c *connState) expired(now int64) bool { return now >= c.deadline }

func (c *connState) setTimeout(now int64, d time.Duration) { c.deadline = now + int64(d) }

// live reports whether a stored slot holds a connection: every stored
// connection is confirmed.
func (c *connState) live() bool { return c.status&StatusConfirmed != 0 }

// age returns how long ago the entry was created.
func (c *connState) age(now int64) time.Duration {
	return time.Duration(int64(ticks(now)-c.born) << tickShift)
}

// entry is a connection in full (struct nf_conn): both tuples and its
// state. It is the form of a connection not yet in the table (a NEW
// packet's), and the form events and snapshots see; the table itself
// stores a compact form (see store.go).
type entry struct {
	tuple [2]Tuple // by Dir
	connState
	// tcp is the TCP tracking state; only TCP connections store it.
	tcp tcpTrack
	// started is when the entry was created.
	started int64
	labels  [2]uint64
}
