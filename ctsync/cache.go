package ctsync

import (
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// ToConn returns the connection as the conntrack table holds it: both
// tuples, the state and the timeout left. ok is false for a message
// that names no connection the table could hold (an ICMP type without a
// reply).
func (c *Conn) ToConn() (conntrack.Conn, bool) {
	reply, ok := c.Reply()
	if !ok {
		return conntrack.Conn{}, false
	}
	return conntrack.Conn{
		Orig: c.Orig, Reply: reply, Status: c.Status, TCPState: c.TCPState, SCTPState: c.SCTPState,
		Timeout: time.Duration(c.Timeout) * time.Second, Mark: c.Mark, Labels: c.Labels,
	}, true
}

// ExternalCache holds the peer's connections, as conntrackd's external
// cache does: they match no packets and do not count against the
// table's limit until Commit puts them into a table. It is safe for
// concurrent use; mu guards everything.
type ExternalCache struct {
	mu    sync.Mutex
	conns map[conntrack.Tuple]cached
	max   int
	full  uint64
}

// cached is a peer's connection and when it was received, so that a
// commit gives it the time it has left then.
type cached struct {
	conn Conn
	at   time.Time
}

// NewExternalCache returns a cache of at most max connections
// (conntrackd's HashLimit; 0 means its default, 131072).
func NewExternalCache(max int) *ExternalCache {
	if max <= 0 {
		max = 131072
	}
	return &ExternalCache{conns: map[conntrack.Tuple]cached{}, max: max}
}

// Apply takes the peer's messages: a new or updated connection is
// upserted, a deleted one removed.
func (x *ExternalCache) Apply(rs []Received, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		if r.Type == TypeDelete {
			delete(x.conns, r.Conn.Orig)
			continue
		}
		if _, ok := x.conns[r.Conn.Orig]; !ok && len(x.conns) >= x.max {
			x.full++
			continue
		}
		x.conns[r.Conn.Orig] = cached{conn: r.Conn, at: now}
	}
}

// Len returns how many connections the cache holds.
func (x *ExternalCache) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.conns)
}

// Dropped returns how many new connections were refused because the
// cache was full.
func (x *ExternalCache) Dropped() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.full
}

// All returns the cached connections at time now, with the time each has
// left (conntrackd -e).
func (x *ExternalCache) All(now time.Time) iter.Seq[conntrack.Conn] {
	x.mu.Lock()
	list := make([]conntrack.Conn, 0, len(x.conns))
	for _, c := range x.conns {
		if k, ok := c.left(now); ok {
			list = append(list, k)
		}
	}
	x.mu.Unlock()
	return func(yield func(conntrack.Conn) bool) {
		for _, k := range list {
			if !yield(k) {
				return
			}
		}
	}
}

// left returns the connection with the timeout it has left at now; ok
// is false if it has run out.
func (c *cached) left(now time.Time) (conntrack.Conn, bool) {
	k, ok := c.conn.ToConn()
	if !ok {
		return k, false
	}
	k.Timeout -= now.Sub(c.at)
	return k, k.Timeout > 0
}

// Flush empties the cache (conntrackd -f external).
func (x *ExternalCache) Flush() {
	x.mu.Lock()
	clear(x.conns)
	x.mu.Unlock()
}

// Commit puts every cached connection into the table with the time it
// has left, as conntrackd -c does when a backup takes over, and empties
// the cache. It returns how many were committed; the error joins those
// that were not (a full table, a tuple already taken).
func (x *ExternalCache) Commit(t *conntrack.Table, now time.Time) (int, error) {
	x.mu.Lock()
	list := make([]cached, 0, len(x.conns))
	for _, c := range x.conns {
		list = append(list, c)
	}
	clear(x.conns)
	x.mu.Unlock()
	n := 0
	var errs []error
	for i := range list {
		k, ok := list[i].left(now)
		if !ok {
			continue
		}
		if err := t.Adopt(k, now); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("ctsync: %d of %d connections not committed: %w", len(errs), len(list), errors.Join(errs...))
	}
	return n, nil
}

// Inject applies the peer's messages straight to the table, as
// conntrackd does with DisableExternalCache: new and updated
// connections are adopted, deleted ones removed.
func Inject(t *conntrack.Table, rs []Received, now time.Time) error {
	var errs []error
	for i := range rs {
		r := &rs[i]
		if r.Type == TypeDelete {
			t.Delete(r.Conn.Orig, now)
			continue
		}
		k, ok := r.Conn.ToConn()
		if !ok {
			continue
		}
		if err := t.Adopt(k, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Tap sends the table's changes to the peer until stop is called: each
// event becomes a message, built off the packet path from the event
// stream. Changes made by Adopt (connections that came from a peer or
// the kernel) are not sent. buffer is the event stream's buffer;
// events lost when it is full are counted by the returned function's
// second result, and a resync (RequestResync on the peer's side, or
// Peer's Resync) sends them again.
func Tap(t *conntrack.Table, p *Peer, buffer int) (stop func(), lost func() uint64) {
	sub := t.Subscribe(buffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.Events() {
			if ev.Adopted {
				continue
			}
			typ := TypeUpdate
			switch ev.Type {
			case conntrack.EventNew:
				typ = TypeNew
			case conntrack.EventDestroy:
				typ = TypeDelete
			}
			c := FromConn(&ev.Conn, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
			p.Enqueue(typ, &c)
		}
	}()
	return func() { sub.Close(); <-done }, sub.Lost
}
