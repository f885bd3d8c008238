package conntrack

import (
	"sync"
	"sync/atomic"
)

// Feed is a subscription to the table's events that its reader polls in
// batches (Read) rather than receives from a channel. It is meant for a
// consumer that takes every change of a busy table, such as the state
// sync's sender: a change costs the packet path a copy into a ring of
// the connection's own shard, under a lock no other shard's packets and
// no reader ever hold for long, instead of a send on one channel that
// every core and the reader share.
//
// Events of one connection are read in the order they happened; events
// of different connections may be read in another order. When a ring is
// full its new events are dropped and counted (Lost), as with
// Subscription.
type Feed struct {
	rings       [shardCount]feedRing
	lost        atomic.Uint64
	closed      atomic.Bool
	unsubscribe func()
	// next is the ring Read starts from, so that a busy shard does not
	// starve the others when dst is small. Only Read uses it.
	next int
}

// feedRing is one shard's events, oldest first: buf[r&mask] to
// buf[(w-1)&mask]. mu guards it; the producers hold it to add one
// event, and Read to take out a chunk.
type feedRing struct {
	mu   sync.Mutex
	buf  []Event
	r, w uint64
	// The padding keeps two shards' rings, written by different cores,
	// off one cache line pair.
	_ [128 - 8 - 24 - 16]byte
}

// readChunk bounds how many events Read copies out of one ring under its
// lock, and so how long a packet of that shard can wait for it.
const readChunk = 64

// Feed starts a batched subscription holding up to buffer events (at
// least 64 per shard, spread over the table's shards by connection).
func (t *Table) Feed(buffer int) *Feed {
	per := 64
	for per*shardCount < buffer {
		per *= 2
	}
	f := &Feed{}
	for i := range f.rings {
		f.rings[i].buf = make([]Event, per)
	}
	h := &t.ext.events
	f.unsubscribe = subscribe(h, &h.feeds, f)
	return f
}

// put adds ev to ring i, or counts it lost when the ring is full.
func (f *Feed) put(i uint8, ev *Event) {
	q := &f.rings[i]
	q.mu.Lock()
	if q.w-q.r == uint64(len(q.buf)) {
		q.mu.Unlock()
		f.lost.Add(1)
		return
	}
	q.buf[q.w&uint64(len(q.buf)-1)] = *ev
	q.w++
	q.mu.Unlock()
}

// Read appends the waiting events to dst, up to its capacity, and
// returns it. It never blocks; an empty result means nothing is
// waiting. Read is for one goroutine at a time.
func (f *Feed) Read(dst []Event) []Event {
	for range f.rings {
		if len(dst) == cap(dst) {
			break
		}
		q := &f.rings[f.next]
		f.next = (f.next + 1) % shardCount
		q.mu.Lock()
		n := min(q.w-q.r, uint64(cap(dst)-len(dst)), readChunk)
		mask := uint64(len(q.buf) - 1)
		for range n {
			dst = append(dst, q.buf[q.r&mask])
			q.buf[q.r&mask] = Event{} // let go of the helper and labels
			q.r++
		}
		q.mu.Unlock()
	}
	return dst
}

// Lost returns how many events were dropped because a ring was full.
func (f *Feed) Lost() uint64 { return f.lost.Load() }

// Close stops the feed. A change being reported while Close runs may
// still arrive; Read returns what is waiting after Close as before it.
// Close is safe to call more than once, and concurrently with the
// table's use.
func (f *Feed) Close() {
	f.unsubscribe()
	f.closed.Store(true)
}

// Closed reports whether Close was called.
func (f *Feed) Closed() bool { return f.closed.Load() }
