package conntrack

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the event stream, what ctnetlink multicasts to the
// NFNLGRP_CONNTRACK_{NEW,UPDATE,DESTROY} groups and conntrack -E prints.
//
// Delivery is the kernel's unreliable mode: an event is put in each
// subscriber's bounded buffer, or dropped for that subscriber when the
// buffer is full, never waited for, because the event is raised on the
// packet path with the connection's shard locked. The kernel does the
// same with a full netlink socket (the listener gets ENOBUFS, or nothing
// with NETLINK_NO_ENOBUFS); nfgo counts the drops in Subscription.Lost.

// EventType is the kind of a conntrack event, as conntrack -E names it.
type EventType uint8

// The event types. A connection created from an expectation is reported
// as EventNew, as ctnetlink reports IPCT_RELATED.
const (
	EventNew EventType = iota
	EventUpdate
	EventDestroy
)

// String returns "NEW", "UPDATE" or "DESTROY".
func (t EventType) String() string {
	switch t {
	case EventNew:
		return "NEW"
	case EventUpdate:
		return "UPDATE"
	}
	return "DESTROY"
}

// Event is one change of a connection: its creation (confirmation), a
// change of its TCP state, status bits or mark, or its removal (expiry,
// flush, early drop, a RST, a reopening SYN).
type Event struct {
	Type EventType
	// Time is the table clock's time of the change, the now of the call
	// that caused it.
	Time time.Time
	// Conn is the connection after the change. For EventDestroy its
	// Timeout is what was left when it was removed: 0 for an expired
	// entry, more when it was deleted early.
	Conn Conn
	// Adopted says the change was made by Table.Adopt (a connection
	// handed over from a sync peer or the kernel), not by a packet. A
	// sync layer does not send such changes back where they came from.
	Adopted bool
}

// String formats the event as conntrack -E prints it with
// libnetfilter_conntrack's default output:
//
//	    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000
//	 [UPDATE] tcp      6 432000 ESTABLISHED src=… [ASSURED]
//	[DESTROY] tcp      6 CLOSE src=… packets=5 bytes=300 src=… packets=4 bytes=260 [ASSURED]
//
// As in ctnetlink_conntrack_event (Linux 5.11 and later): the timeout of
// a DESTROY is left out when it is 0 (the entry expired); counters are
// only in DESTROY events (with nf_conntrack_acct=1, which nfgo always
// has); mark and zone appear when they are not 0; there is no use=
// field. The TCP state is shown in every TCP event, where the kernel
// leaves it out of an UPDATE that did not change it (one that only set
// ASSURED or the mark).
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9s ", "["+e.Type.String()+"]")
	c := &e.Conn
	name := protoNames[c.Orig.Proto]
	if name == "" {
		name = "unknown"
	}
	fmt.Fprintf(&b, "%-8s %d ", name, c.Orig.Proto)
	if secs := int64(c.Timeout / time.Second); e.Type != EventDestroy || secs > 0 {
		fmt.Fprintf(&b, "%d ", max(secs, 0))
	}
	if st, ok := c.protoState(); ok {
		b.WriteString(st)
		b.WriteByte(' ')
	}
	destroy := e.Type == EventDestroy
	b.WriteString(c.Orig.String())
	b.WriteByte(' ')
	if destroy && c.Counters[Original] != (Counter{}) {
		fmt.Fprintf(&b, "packets=%d bytes=%d ", c.Counters[Original].Packets, c.Counters[Original].Bytes)
	}
	if c.Status&StatusSeenReply == 0 {
		b.WriteString("[UNREPLIED] ")
	}
	b.WriteString(c.Reply.String())
	b.WriteByte(' ')
	if destroy && c.Counters[Reply] != (Counter{}) {
		fmt.Fprintf(&b, "packets=%d bytes=%d ", c.Counters[Reply].Packets, c.Counters[Reply].Bytes)
	}
	b.WriteString(assuredFlag(c.Status))
	if c.Mark != 0 {
		fmt.Fprintf(&b, "mark=%d ", c.Mark)
	}
	if c.Orig.Zone != 0 {
		fmt.Fprintf(&b, "zone=%d ", c.Orig.Zone)
	}
	// ctnetlink sends the helper with every event but DESTROY.
	if c.Helper != nil && !destroy {
		fmt.Fprintf(&b, "helper=%s ", c.Helper.Name())
	}
	return strings.TrimSuffix(b.String(), " ")
}

// Timestamped formats the event as conntrack -E -o timestamp prints it:
// the event's time in seconds and microseconds, then the line.
func (e Event) Timestamped() string {
	us := e.Time.UnixMicro()
	return fmt.Sprintf("[%d.%06d]\t%s", us/1e6, us%1e6, e.String())
}

// Subscription is one listener of a table's events, like a netlink
// socket bound to the conntrack groups. Close it when done: an open
// subscription costs every event a copy.
//
// A consumer slower than the packet path loses events once its buffer
// is full. The events it does get are still in order for each
// connection (they are raised under the connection's lock), but it may
// miss, say, the UPDATE to ESTABLISHED and see only the DESTROY. Lost
// reports how many were dropped; when it grows, the consumer's view is
// stale and it should resynchronise from Table.All, as a conntrack -E
// user or conntrackd does after ENOBUFS.
type Subscription struct{ stream[Event] }

// ExpectSubscription is one listener of a table's expectation events
// (conntrack -E expect: NFNLGRP_CONNTRACK_EXP_NEW and _DESTROY), which
// behaves as a Subscription does.
type ExpectSubscription struct{ stream[ExpectEvent] }

// ExpectEvent is the creation of an expectation or its end (used up by
// the connection it expected, timed out, replaced, evicted, or gone with
// its master).
type ExpectEvent struct {
	// Type is EventNew or EventDestroy.
	Type EventType
	Time time.Time
	// Expectation is the expectation, with the time it had left as its
	// Timeout.
	Expectation Expectation
	// Adopted says the expectation came from Table.AdoptExpectation (a
	// sync peer's), so that it is not sent back.
	Adopted bool
}

// String formats the event as conntrack -E expect prints it:
//
//	[NEW] 300 proto=6 src=… dst=… sport=0 dport=50000 mask-src=… master-src=… class=0 helper=ftp
func (e ExpectEvent) String() string {
	return fmt.Sprintf("%9s %s", "["+e.Type.String()+"]", e.Expectation.String())
}

// stream is a bounded, never-blocking channel of events of one kind.
type stream[T any] struct {
	ch   chan T
	lost atomic.Uint64
	// mu orders sends (read-locked) against close (locked), so that
	// the channel is never sent on after it is closed.
	mu     sync.RWMutex
	closed bool
	// unsubscribe takes the stream off its hub.
	unsubscribe func()
}

func newStream[T any](buffer int) stream[T] {
	return stream[T]{ch: make(chan T, max(buffer, 1))}
}

// Events returns the channel the events arrive on. It is closed by
// Close, after the events already buffered.
func (s *stream[T]) Events() <-chan T { return s.ch }

// Lost returns how many events were dropped because the buffer was full.
func (s *stream[T]) Lost() uint64 { return s.lost.Load() }

// Close stops the subscription and closes its channel. It is safe to call
// more than once, and concurrently with the table's use.
func (s *stream[T]) Close() {
	s.unsubscribe()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	s.mu.Unlock()
}

// send queues ev without blocking, or counts it lost.
func (s *stream[T]) send(ev *T) {
	s.mu.RLock()
	if !s.closed {
		select {
		case s.ch <- *ev:
		default:
			s.lost.Add(1)
		}
	}
	s.mu.RUnlock()
}

// eventHub holds a table's subscriptions. The lists are copied on write
// so that emit reads them with one atomic load.
type eventHub struct {
	mu      sync.Mutex // serialises Subscribe and Close
	subs    atomic.Pointer[[]*Subscription]
	feeds   atomic.Pointer[[]*Feed]
	expSubs atomic.Pointer[[]*ExpectSubscription]
	// hooks is the table's tableExt.hooks.
	hooks *atomic.Int64
}

const (
	hookSubscription = 1 << 32
	hookExpectation  = 1
	hookExpectMask   = 1<<32 - 1
)

// subscribe adds s to a copy-on-write list and returns what takes it off
// again.
func subscribe[S comparable](h *eventHub, list *atomic.Pointer[[]S], s S) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var l []S
	if old := list.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, s)
	list.Store(&l)
	h.hooks.Add(hookSubscription)
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		old := list.Load()
		if old == nil {
			return
		}
		var l []S
		for _, o := range *old {
			if o != s {
				l = append(l, o)
			}
		}
		if len(l) != len(*old) {
			list.Store(&l)
			h.hooks.Add(-hookSubscription)
		}
	}
}

// Subscribe starts listening to the table's events (conntrack -E). The
// subscription buffers up to buffer events (at least 1); see
// Subscription for what happens beyond that.
func (t *Table) Subscribe(buffer int) *Subscription {
	h := &t.ext.events
	s := &Subscription{newStream[Event](buffer)}
	s.unsubscribe = subscribe(h, &h.subs, s)
	return s
}

// SubscribeExpectations starts listening to the table's expectation
// events (conntrack -E expect), buffering up to buffer of them.
func (t *Table) SubscribeExpectations(buffer int) *ExpectSubscription {
	h := &t.ext.events
	s := &ExpectSubscription{newStream[ExpectEvent](buffer)}
	s.unsubscribe = subscribe(h, &h.expSubs, s)
	return s
}

// emitExpect reports an expectation's creation or end at time now. It
// is called with the expectation table locked, and never blocks.
func (h *eventHub) emitExpect(typ EventType, e *expectation, now int64) {
	subs := h.expSubs.Load()
	if subs == nil || len(*subs) == 0 {
		return
	}
	ev := ExpectEvent{Type: typ, Time: time.Unix(0, now), Expectation: e.Expectation, Adopted: e.adopted}
	ev.Expectation.Timeout = max(time.Duration(e.deadline-now), 0)
	for _, s := range *subs {
		s.send(&ev)
	}
}

// emit reports a change of entry e, which lives in shard sh, at time
// now (the table clock's nanoseconds). It is called with sh locked, or
// just after the entry was stored, and never blocks: with no subscriber
// anywhere it is one atomic load and allocates nothing.
func (t *Table) emit(typ EventType, e *entry, now int64, sh *shard) {
	t.emitFrom(typ, e, now, false, sh)
}

// emitFrom is emit, saying whether the change came from Adopt.
func (t *Table) emitFrom(typ EventType, e *entry, now int64, adopted bool, sh *shard) {
	x := &t.ext
	if x.hooks.Load() == 0 {
		return
	}
	if typ == EventDestroy {
		// nf_ct_remove_expectations: a master's expectations die
		// with it.
		x.expect.masterGone(&e.tuple[Original], now)
	}
	subs, feeds := x.events.subs.Load(), x.events.feeds.Load()
	if (subs == nil || len(*subs) == 0) && (feeds == nil || len(*feeds) == 0) {
		return
	}
	ev := Event{Type: typ, Time: time.Unix(0, now), Conn: e.conn(now), Adopted: adopted}
	ev.Conn.Timeout = max(ev.Conn.Timeout, 0)
	if subs != nil {
		for _, s := range *subs {
			s.send(&ev)
		}
	}
	if feeds != nil {
		for _, f := range *feeds {
			f.put(sh.idx, &ev)
		}
	}
}

// tableExt is the state the event stream and the expectations add to a
// Table.
type tableExt struct {
	events eventHub
	expect expectTable
	// hooks counts the open subscriptions (high 32 bits) and the live
	// expectations (low 32 bits): emit's fast path, and that of a new
	// connection looking for an expectation, is one load of it.
	hooks atomic.Int64
}

// init prepares the extension state of a table of at most ctMax entries.
func (x *tableExt) init(ctMax int) {
	x.events.hooks = &x.hooks
	x.expect.init(ctMax, &x.hooks, &x.events)
}
