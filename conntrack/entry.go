package conntrack

import "time"

// entry is one connection (struct nf_conn), stored by value in a shard's
// slab. It holds no pointers, so a table of a million connections is
// nothing for the garbage collector to scan.
type entry struct {
	tuple    [2]Tuple // by Dir
	status   Status
	mark     uint32
	deadline int64 // the table clock's nanoseconds at which it expires
	// started is when the entry was created, for UDP's "replied and
	// older than 2 s" stream rule.
	started int64
	tcp     tcpTrack
	// counters are packets and bytes per direction (nf_conn_acct).
	counters [2]Counter
	labels   [2]uint64
	// gen changes each time the slot is reused, so a stale Ref cannot
	// reach a new connection.
	gen  uint32
	live bool
}

// Counter counts packets and bytes in one direction.
type Counter struct {
	Packets, Bytes uint64
}

func (e *entry) expired(now int64) bool { return now >= e.deadline }

func (e *entry) setTimeout(now int64, d time.Duration) { e.deadline = now + int64(d) }
