package conntrack

import (
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Conn is a snapshot of one connection, for listings, events and
// snapshots.
type Conn struct {
	Orig, Reply Tuple
	Status      Status
	TCPState    TCPState
	// SCTPState is an SCTP connection's state (SCTPNone for the other
	// protocols).
	SCTPState SCTPState
	// Timeout is the time left before the entry expires.
	Timeout  time.Duration
	Mark     uint32
	Counters [2]Counter
	Labels   [2]uint64
	// Helper is the connection's helper, nil if none.
	Helper Helper
	// Use is the kernel's reference count as conntrack -L shows it: 1,
	// and 1 more for every live connection it is the master of (an
	// expected connection holds its master).
	Use int
}

// All returns every live connection, shard by shard. Each shard is locked
// only while it is copied, so a listing does not stall the packet path.
func (t *Table) All(now time.Time) iter.Seq[Conn] {
	ns := now.UnixNano()
	return func(yield func(Conn) bool) {
		children := t.children(ns)
		var batch []Conn
		for i := range t.shards {
			s := &t.shards[i]
			batch = batch[:0]
			s.mu.Lock()
			s.each(func(kind storeKind, slot uint32, c *connState) {
				if c.expired(ns) {
					return
				}
				e := s.materialize(kind, slot, ns)
				conn := e.conn(ns)
				conn.Use += children[e.tuple[Original]]
				batch = append(batch, conn)
			})
			s.mu.Unlock()
			for _, c := range batch {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// protoState is the state conntrack prints for the connection's
// protocol: TCP's and SCTP's (ok false for the others).
func (c *Conn) protoState() (string, bool) {
	switch c.Orig.Proto {
	case packet.ProtoTCP:
		return c.TCPState.String(), true
	case packet.ProtoSCTP:
		return c.SCTPState.String(), true
	}
	return "", false
}

// conn returns the entry's snapshot at time now.
func (e *entry) conn(now int64) Conn {
	return Conn{
		Orig: e.tuple[Original], Reply: e.tuple[Reply], Status: e.status,
		TCPState: e.tcp.State(), SCTPState: e.ext.sctp.state,
		Timeout: e.left(now), Mark: e.mark, Counters: [2]Counter{e.counters[0].get(), e.counters[1].get()},
		Labels: e.ext.labels, Helper: e.ext.help.Helper, Use: 1,
	}
}

// children counts, for each master, the live connections expected by it.
func (t *Table) children(now int64) map[Tuple]int {
	var m map[Tuple]int
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, x := range s.exts.all() {
			if x.masterOf.Family == 0 {
				continue
			}
			if c, _, _ := s.conn(storeKind(k>>32), uint32(k)); c.expired(now) {
				continue
			}
			if m == nil {
				m = map[Tuple]int{}
			}
			m[x.masterOf]++
		}
		s.mu.Unlock()
	}
	return m
}

var protoNames = map[uint8]string{
	packet.ProtoTCP: "tcp", packet.ProtoUDP: "udp", packet.ProtoICMP: "icmp", packet.ProtoICMPv6: "icmpv6",
	packet.ProtoUDPLite: "udplite", packet.ProtoSCTP: "sctp", packet.ProtoDCCP: "dccp", packet.ProtoGRE: "gre",
}

// String formats the connection as conntrack -L prints it:
//
//	tcp      6 431999 ESTABLISHED src=… dst=… sport=… dport=… src=… … [ASSURED] mark=0 use=1
func (c Conn) String() string { return c.format(false) }

// Extended formats the connection as conntrack -L -o extended (and
// /proc/net/nf_conntrack) prints it, with the layer-3 protocol first.
func (c Conn) Extended() string { return c.format(true) }

func (c Conn) format(extended bool) string {
	var b strings.Builder
	if extended {
		if c.Orig.Family == packet.IPv6 {
			fmt.Fprintf(&b, "%-8s %d ", "ipv6", 10)
		} else {
			fmt.Fprintf(&b, "%-8s %d ", "ipv4", 2)
		}
	}
	name := protoNames[c.Orig.Proto]
	if name == "" {
		name = "unknown"
	}
	fmt.Fprintf(&b, "%-8s %d %d ", name, c.Orig.Proto, int64(c.Timeout/time.Second))
	if st, ok := c.protoState(); ok {
		b.WriteString(st)
		b.WriteByte(' ')
	}
	b.WriteString(c.Orig.String())
	b.WriteByte(' ')
	// nfgo always accounts, as the kernel does with nf_conntrack_acct=1,
	// so both directions' counters are printed.
	fmt.Fprintf(&b, "packets=%d bytes=%d ", c.Counters[Original].Packets, c.Counters[Original].Bytes)
	if c.Status&StatusSeenReply == 0 {
		b.WriteString("[UNREPLIED] ")
	}
	b.WriteString(c.Reply.String())
	b.WriteByte(' ')
	fmt.Fprintf(&b, "packets=%d bytes=%d ", c.Counters[Reply].Packets, c.Counters[Reply].Bytes)
	b.WriteString(assuredFlag(c.Status))
	fmt.Fprintf(&b, "mark=%d ", c.Mark)
	if c.Orig.Zone != 0 {
		fmt.Fprintf(&b, "zone=%d ", c.Orig.Zone)
	}
	if c.Helper != nil {
		fmt.Fprintf(&b, "helper=%s ", c.Helper.Name())
	}
	fmt.Fprintf(&b, "use=%d", max(c.Use, 1))
	return b.String()
}

// Get returns the connection a tuple belongs to, in either direction, and
// the tuple's direction in it (conntrack -G).
func (t *Table) Get(tp Tuple, now time.Time) (Conn, Dir, bool) {
	ns := now.UnixNano()
	children := t.children(ns)
	var loc located
	if !t.locate(&loc, &tp, ns) {
		return Conn{}, 0, false
	}
	defer loc.s.mu.Unlock()
	e := loc.s.materialize(loc.kind, loc.slot, ns)
	c := e.conn(ns)
	c.Use += children[e.tuple[Original]]
	return c, loc.dir, true
}

// HelpOf returns the helper and helper state of the live connection
// that tp is a tuple of, in either direction: what a helper's function
// for an expected connection reads of its master (PPTP's call IDs).
func (t *Table) HelpOf(tp Tuple, now time.Time) (Help, bool) {
	var loc located
	if !t.locate(&loc, &tp, now.UnixNano()) {
		return Help{}, false
	}
	defer loc.s.mu.Unlock()
	if loc.c.status&StatusHelper == 0 {
		return Help{}, true
	}
	return loc.s.ext(loc.kind, loc.slot).help, true
}

// Delete deletes the live connection that tp is a tuple of, in either
// direction (conntrack -D with a full tuple, nf_ct_kill), and reports
// whether there was one.
func (t *Table) Delete(tp Tuple, now time.Time) bool {
	ns := now.UnixNano()
	var loc located
	if !t.locate(&loc, &tp, ns) {
		return false
	}
	t.remove(loc.s, loc.kind, loc.slot, ns)
	loc.s.mu.Unlock()
	t.runDestroyHooks()
	return true
}

// assuredFlag is the flag conntrack -L and -E print after the tuples
// (libnetfilter_conntrack's __snprintf_status_assured): [OFFLOAD] for
// an offloaded connection, else [ASSURED] for an assured one.
func assuredFlag(s Status) string {
	switch {
	case s&StatusOffload != 0:
		return "[OFFLOAD] "
	case s&StatusAssured != 0:
		return "[ASSURED] "
	}
	return ""
}
