package conntrack

import "time"

// connState is what the trackers and the accounting change as packets
// pass: the part of a connection every packet touches. The table stores
// it inline, beside the connection's key, followed by the TCP tracking
// state for TCP connections and the creation time for the others (see
// store.go). It is 44 bytes with 4-byte alignment, so that a stored IPv4
// TCP connection packs into 112 bytes with no padding.
type connState struct {
	status Status
	mark   uint32
	// deadline is when the entry expires, in ticks of the table clock.
	deadline uint32
	// counters are packets and bytes per direction (nf_conn_acct).
	counters [2]counter
}

// Counter counts packets and bytes in one direction.
type Counter struct {
	Packets, Bytes uint64
}

// counter is a Counter stored as 32-bit halves, so that connState needs
// only 4-byte alignment.
type counter struct {
	packets, bytes [2]uint32 // low, high
}

func (c *counter) add(bytes int) {
	c.packets[0]++
	if c.packets[0] == 0 {
		c.packets[1]++
	}
	lo := c.bytes[0] + uint32(bytes)
	if lo < c.bytes[0] {
		c.bytes[1]++
	}
	c.bytes[0] = lo
}

func (c counter) get() Counter {
	return Counter{Packets: uint64(c.packets[1])<<32 | uint64(c.packets[0]), Bytes: uint64(c.bytes[1])<<32 | uint64(c.bytes[0])}
}

func counterOf(c Counter) counter {
	return counter{packets: [2]uint32{uint32(c.Packets), uint32(c.Packets >> 32)}, bytes: [2]uint32{uint32(c.Bytes), uint32(c.Bytes >> 32)}}
}

// The table's clock runs in ticks of 2^20 ns (about 1 ms; the kernel's
// jiffy is 1 to 4 ms), kept in 32 bits: it wraps after 52 days, and times
// are compared modulo 2^32, as the kernel compares jiffies, so a timeout
// may not exceed half of that (MaxTimeout).
const tickShift = 20

// MaxTimeout is the longest timeout an entry can have; longer ones are
// cut to it.
const MaxTimeout = 24 * 24 * time.Hour

func ticks(ns int64) uint32 { return uint32(ns >> tickShift) }

func (c *connState) expired(now int64) bool { return int32(ticks(now)-c.deadline) >= 0 }

// setTimeout makes the entry expire d from now, rounded up to a tick, so
// that a listing made at once shows the whole timeout.
func (c *connState) setTimeout(now int64, d time.Duration) {
	d = min(d, MaxTimeout)
	c.deadline = uint32((now + int64(d) + 1<<tickShift - 1) >> tickShift)
}

// left returns the time the entry has before it expires, at least the
// timeout last set less the time since, and less than a tick more.
func (c *connState) left(now int64) time.Duration {
	abs := (now>>tickShift + int64(int32(c.deadline-ticks(now)))) << tickShift
	return time.Duration(abs - now)
}

// live reports whether a stored slot holds a connection: every stored
// connection is confirmed.
func (c *connState) live() bool { return c.status&StatusConfirmed != 0 }

// age returns how long ago a connection born at tick born was created.
func age(born uint32, now int64) time.Duration {
	return time.Duration(int64(ticks(now)-born) << tickShift)
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
	// born is when the entry was created, in ticks; only connections of
	// other protocols store it, for UDP's "older than 2 s" stream rule.
	born uint32
	// started is when the entry was created.
	started int64
	ext     connExt
}
