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
// reply). EXPECTED is cleared, as conntrackd clears it when it creates
// the connection: the master link is not recreated. The helper is not
// set (see adoptable).
func (c *Conn) ToConn() (conntrack.Conn, bool) {
	reply, ok := c.Reply()
	if !ok {
		return conntrack.Conn{}, false
	}
	return conntrack.Conn{
		Orig: c.Orig, Reply: reply, Status: c.Status &^ conntrack.StatusExpected, TCPState: c.TCPState, SCTPState: c.SCTPState,
		Timeout: time.Duration(c.Timeout) * time.Second, Mark: c.Mark, Labels: c.Labels,
	}, true
}

// related reports whether the connection was expected by a master.
func (c *Conn) related() bool { return c.Attrs.Has(AttrMasterIPv4) || c.Attrs.Has(AttrMasterIPv6) }

// withHelper gives k the helper c names, if t has it, so that the
// adopted connection's helper goes on (an FTP control connection keeps
// announcing data connections).
func withHelper(k conntrack.Conn, c *Conn, t *conntrack.Table) conntrack.Conn {
	if c.Helper != "" {
		k.Helper, _ = t.HelperNamed(c.Helper)
	}
	return k
}

// ExternalCache holds the peer's connections, as conntrackd's external
// cache does: they match no packets and do not count against the
// table's limit until Commit puts them into a table. It is safe for
// concurrent use; mu guards everything.
type ExternalCache struct {
	mu    sync.Mutex
	conns map[conntrack.Tuple]cached
	exps  map[expKey]cachedExp
	max   int
	stats CacheStats
	// commitTimeout, if set, is the timeout every committed
	// connection gets (conntrackd's CommitTimeout).
	commitTimeout time.Duration
}

// CacheStats are a cache's counters, as conntrackd -s shows them.
type CacheStats struct {
	// Active is how many connections the cache holds.
	Active int
	// Created, Updated and Destroyed count the connections added,
	// changed and removed by the peer's messages.
	Created, Updated, Destroyed uint64
	// CreateFailed counts new connections refused because the cache
	// was full (conntrackd's "no space left in cache"); UpdateFailed
	// and DestroyFailed count failures to apply a message (only an
	// injecting node has them: a full table, a tuple taken).
	CreateFailed, UpdateFailed, DestroyFailed uint64
}

// cachedExp is a peer's expectation and when it was received.
type cachedExp struct {
	exp Exp
	at  time.Time
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
	return &ExternalCache{conns: map[conntrack.Tuple]cached{}, exps: map[expKey]cachedExp{}, max: max}
}

// Apply takes the peer's messages: a new or updated connection or
// expectation is upserted, a deleted one removed. Expectations share
// the connections' bound.
func (x *ExternalCache) Apply(rs []Received, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		if r.Type >= TypeExpNew {
			k := expKey{r.Exp.Master, r.Exp.Tuple}
			switch _, had := x.exps[k]; {
			case r.Type == TypeExpDelete:
				delete(x.exps, k)
			case !had && len(x.conns)+len(x.exps) >= x.max:
				x.stats.CreateFailed++
			default:
				x.exps[k] = cachedExp{exp: r.Exp, at: now}
			}
			continue
		}
		_, had := x.conns[r.Conn.Orig]
		switch {
		case r.Type == TypeDelete:
			if had {
				delete(x.conns, r.Conn.Orig)
				x.stats.Destroyed++
			}
			continue
		case had:
			x.stats.Updated++
		case len(x.conns)+len(x.exps) >= x.max:
			x.stats.CreateFailed++
			continue
		default:
			x.stats.Created++
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
	return x.stats.CreateFailed
}

// Stats returns the cache's counters.
func (x *ExternalCache) Stats() CacheStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	st := x.stats
	st.Active = len(x.conns)
	return st
}

// All returns the cached connections at time now, with the time each has
// left (conntrackd -e).
func (x *ExternalCache) All(now time.Time) iter.Seq[conntrack.Conn] {
	x.mu.Lock()
	list := make([]conntrack.Conn, 0, len(x.conns))
	for _, c := range x.conns {
		if k, ok := c.left(now, x.commitTimeout); ok {
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

// SetCommitTimeout gives every connection Commit puts into a table the
// timeout d (conntrackd's CommitTimeout); 0 gives each the time it has
// left.
func (x *ExternalCache) SetCommitTimeout(d time.Duration) {
	x.mu.Lock()
	x.commitTimeout = d
	x.mu.Unlock()
}

// expiredTimeout is what a committed connection gets when the time it
// had left has run out, as in conntrackd's commit: a sender does not
// report timeout refreshes (the kernel sends no event for them), so a
// connection whose last message is older than its timeout may well be
// alive.
const expiredTimeout = 60 * time.Second

// left returns the connection with the timeout it would be committed
// with at now (see Commit); ok is false for one a table cannot hold.
func (c *cached) left(now time.Time, commitTimeout time.Duration) (conntrack.Conn, bool) {
	k, ok := c.conn.ToConn()
	if !ok {
		return k, false
	}
	switch elapsed := now.Sub(c.at); {
	case commitTimeout > 0:
		k.Timeout = commitTimeout
	case elapsed < 0 || k.Timeout-elapsed <= 0:
		k.Timeout = expiredTimeout
	default:
		k.Timeout -= elapsed
	}
	return k, true
}

// Expectations returns the cached expectations at time now, each with
// the time it has left (conntrackd -e expect); helper resolves helper
// names (nil: none are set).
func (x *ExternalCache) Expectations(now time.Time, helper func(string) (conntrack.Helper, bool)) []conntrack.Expectation {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []conntrack.Expectation
	for _, c := range x.exps {
		if e, ok := c.left(now, helper); ok {
			out = append(out, e)
		}
	}
	return out
}

// left returns the expectation with the time it has left at now; ok is
// false once it has run out (an expectation is not refreshed).
func (c *cachedExp) left(now time.Time, helper func(string) (conntrack.Helper, bool)) (conntrack.Expectation, bool) {
	e := c.exp.ToExpectation(helper)
	e.Timeout -= now.Sub(c.at)
	return e, e.Timeout > 0
}

// Flush empties the cache (conntrackd -f external).
func (x *ExternalCache) Flush() {
	x.mu.Lock()
	clear(x.conns)
	clear(x.exps)
	x.mu.Unlock()
}

// Commit puts every cached connection into the table, as conntrackd -c
// does when a backup takes over, and empties the cache (conntrackd
// keeps it, so that a second commit would overwrite live connections
// with stale copies). Each gets the commit timeout if one is set, else
// the time it has left since its last message, else, if that has run
// out, 60 s, as conntrackd gives it. As conntrackd's commit does, it
// takes the connections first, the expected ones after their masters,
// and then the expectations, whose masters must be in the table by then
// (an expectation past its time is dropped). A connection's helper is
// attached if the table has it. It returns how many connections and
// expectations were committed; the error joins those that were not (a
// full table, a tuple already taken, an expectation without its master).
func (x *ExternalCache) Commit(t *conntrack.Table, now time.Time) (int, error) {
	x.mu.Lock()
	list := make([]cached, 0, len(x.conns))
	for _, c := range x.conns {
		list = append(list, c)
	}
	exps := make([]cachedExp, 0, len(x.exps))
	for _, e := range x.exps {
		exps = append(exps, e)
	}
	clear(x.conns)
	clear(x.exps)
	commitTimeout := x.commitTimeout
	x.mu.Unlock()
	n := 0
	var errs []error
	for _, related := range []bool{false, true} {
		for i := range list {
			if list[i].conn.related() != related {
				continue
			}
			k, ok := list[i].left(now, commitTimeout)
			if !ok {
				continue
			}
			if err := t.Adopt(withHelper(k, &list[i].conn, t), now); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	for i := range exps {
		e, ok := exps[i].left(now, t.HelperNamed)
		if !ok {
			continue
		}
		if err := t.AdoptExpectation(e, now); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("ctsync: %d of %d connections and expectations not committed: %w", len(errs), len(list)+len(exps), errors.Join(errs...))
	}
	return n, nil
}

// Inject applies the peer's messages straight to the table, as
// conntrackd does with DisableExternalCache: new and updated
// connections and expectations are adopted, deleted ones removed.
func Inject(t *conntrack.Table, rs []Received, now time.Time) error {
	var errs []error
	for i := range rs {
		r := &rs[i]
		switch r.Type {
		case TypeDelete:
			t.Delete(r.Conn.Orig, now)
			continue
		case TypeExpDelete:
			t.UnexpectTuple(r.Exp.Tuple, now)
			continue
		case TypeExpNew, TypeExpUpdate:
			if err := t.AdoptExpectation(r.Exp.ToExpectation(t.HelperNamed), now); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		k, ok := r.Conn.ToConn()
		if !ok {
			continue
		}
		if err := t.Adopt(withHelper(k, &r.Conn, t), now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Tap sends the table's changes to the peer until stop is called: each
// event becomes a message, built off the packet path from the event
// stream. Changes made by Adopt (connections that came from a peer or
// the kernel) are not sent, nor are connections keep refuses (nil keeps
// all; Filter.Allows is conntrackd's filter). buffer is the event
// stream's buffer;
// events lost when it is full are counted by the returned function's
// second result, and a resync (RequestResync on the peer's side, or
// Peer's Resync) sends them again.
func Tap(t *conntrack.Table, p *Peer, buffer int, keep func(*conntrack.Conn) bool) (stop func(), lost func() uint64) {
	return tap(t, p, buffer, keep, nil)
}

// wakeEvery is how many queued changes wake the sender during a burst:
// about a datagram's worth of connection messages.
const wakeEvery = 16

// minIdle and maxIdle bound how long the tap sleeps when the table has
// nothing new: a change waits at most maxIdle after a quiet spell, and
// a busy table's events are read without the packet path ever waking
// the tap.
const (
	minIdle = time.Millisecond
	maxIdle = 20 * time.Millisecond
)

// tapBatch is how many events the tap reads at a time.
const tapBatch = 256

// tap is Tap, calling sent (if not nil) with each message's type.
func tap(t *conntrack.Table, p *Peer, buffer int, keep func(*conntrack.Conn) bool, sent func(MsgType)) (stop func(), lost func() uint64) {
	feed := t.Feed(buffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		batch := make([]conntrack.Event, 0, tapBatch)
		idle := minIdle
		for {
			batch = feed.Read(batch[:0])
			if len(batch) == 0 {
				// Nothing waiting: poll again later rather than be
				// woken, so that the packet path, which fills the
				// feed, never has to wake this goroutine.
				if feed.Closed() {
					return
				}
				time.Sleep(idle)
				idle = min(2*idle, maxIdle)
				continue
			}
			idle = minIdle
			queued := 0
			for i := range batch {
				ev := &batch[i]
				if ev.Adopted || keep != nil && !keep(&ev.Conn) {
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
				// A burst goes out in full datagrams: the sender
				// wakes for every datagram's worth, and at the end
				// of the batch.
				queued++
				p.enqueue(typ, &c, queued%wakeEvery == 0)
				if sent != nil {
					sent(typ)
				}
			}
			if queued%wakeEvery != 0 {
				p.poke()
			}
		}
	}()
	return func() { feed.Close(); <-done }, feed.Lost
}
