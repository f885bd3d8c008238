package conntrack

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
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
	if c.Orig.Proto == packet.ProtoTCP {
		b.WriteString(c.TCPState.String())
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
	if c.Status&StatusAssured != 0 {
		b.WriteString("[ASSURED] ")
	}
	if c.Mark != 0 {
		fmt.Fprintf(&b, "mark=%d ", c.Mark)
	}
	if c.Orig.Zone != 0 {
		fmt.Fprintf(&b, "zone=%d ", c.Orig.Zone)
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
type Subscription struct {
	hub  *eventHub
	ch   chan Event
	lost atomic.Uint64
	// mu orders sends (read-locked) against Close (locked), so that
	// the channel is never sent on after it is closed.
	mu     sync.RWMutex
	closed bool
}

// eventHub holds a table's subscriptions. The list is copied on write
// so that emit reads it with one atomic load.
type eventHub struct {
	mu   sync.Mutex // serialises Subscribe and Close
	subs atomic.Pointer[[]*Subscription]
	// hooks is the table's tableExt.hooks.
	hooks *atomic.Int64
}

const (
	hookSubscription = 1 << 32
	hookExpectation  = 1
	hookExpectMask   = 1<<32 - 1
)

// Subscribe starts listening to the table's events (conntrack -E). The
// subscription buffers up to buffer events (at least 1); see
// Subscription for what happens beyond that.
func (t *Table) Subscribe(buffer int) *Subscription {
	h := &t.ext.events
	s := &Subscription{hub: h, ch: make(chan Event, max(buffer, 1))}
	h.mu.Lock()
	defer h.mu.Unlock()
	var list []*Subscription
	if old := h.subs.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, s)
	h.subs.Store(&list)
	h.hooks.Add(hookSubscription)
	return s
}

// Events returns the channel the events arrive on. It is closed by
// Close, after the events already buffered.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Lost returns how many events were dropped because the buffer was full.
func (s *Subscription) Lost() uint64 { return s.lost.Load() }

// Close stops the subscription and closes its channel. It is safe to call
// more than once, and concurrently with the table's use.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if old := h.subs.Load(); old != nil {
		var list []*Subscription
		for _, o := range *old {
			if o != s {
				list = append(list, o)
			}
		}
		if len(list) != len(*old) {
			h.subs.Store(&list)
			h.hooks.Add(-hookSubscription)
		}
	}
	h.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	s.mu.Unlock()
}

// send queues ev without blocking, or counts it lost.
func (s *Subscription) send(ev *Event) {
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

// emit reports a change of entry e at time now (the table clock's
// nanoseconds). It is called with e's shard locked, so it never blocks:
// with no subscriber anywhere it is one atomic load and allocates
// nothing.
func (t *Table) emit(typ EventType, e *entry, now int64) {
	x := &t.ext
	if x.hooks.Load() == 0 {
		return
	}
	if typ == EventDestroy {
		// nf_ct_remove_expectations: a master's expectations die
		// with it.
		x.expect.masterGone(&e.tuple[Original])
	}
	subs := x.events.subs.Load()
	if subs == nil || len(*subs) == 0 {
		return
	}
	ev := Event{Type: typ, Time: time.Unix(0, now), Conn: e.conn(now)}
	ev.Conn.Timeout = max(ev.Conn.Timeout, 0)
	for _, s := range *subs {
		s.send(&ev)
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
	x.expect.init(ctMax, &x.hooks)
}
