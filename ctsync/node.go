package ctsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// NodeConfig configures a Node.
type NodeConfig struct {
	// Sync is the conntrackd.conf read by ReadConfig.
	Sync *Config
	// Table is the live table: the node's internal cache.
	Table *conntrack.Table
	// Peer is the peer's conntrack-tools release (zero: Latest).
	Peer Release
	// Events is the table's event buffer for what is sent (0: 65536).
	// When it overflows the node sends the whole table again.
	Events int
	// Logger logs the node's life (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Node is one member of an HA pair, doing what conntrackd does beside a
// kernel: the live table is its internal cache, whose changes it sends
// to the peer (filtered by the General section's Filter); the peer's
// connections go to an external cache that Commit promotes into the
// table, or, with DisableExternalCache, straight into the table. It
// answers the peer's resync requests with the whole table.
//
// Its state is the Peer's (one lock, Peer.mu), the ExternalCache's (its
// own lock) and atomic counters; no lock is held while another is
// taken.
type Node struct {
	cfg   NodeConfig
	sync  *Config
	table *conntrack.Table
	peer  *Peer
	ext   *ExternalCache // nil when injecting
	log   *slog.Logger

	sent     struct{ created, updated, destroyed atomic.Uint64 }
	injected struct{ created, updated, destroyed, failed atomic.Uint64 }
	bulks    atomic.Uint64
	lost     func() uint64
}

// NodeStats are a node's counters.
type NodeStats struct {
	PeerStats
	// Internal counts the live table's changes sent, and Active its
	// connections the filter allows.
	Internal CacheStats
	// External is the external cache's, or, when injecting, the
	// injected connections' counters (Active is then 0).
	External CacheStats
	// Injecting is set with DisableExternalCache.
	Injecting bool
	// Bulks counts full sends of the table: resync answers, SendBulk,
	// and recoveries from a lost event.
	Bulks uint64
	// EventsLost counts table events the node missed (its event
	// buffer was full); each loss is repaired by a full send.
	EventsLost uint64
}

// NewNode opens the node's socket on the Sync section's UDP transport.
func NewNode(cfg NodeConfig) (*Node, error) {
	sc := cfg.Sync
	if sc == nil || cfg.Table == nil {
		return nil, errors.New("ctsync: a node needs a configuration and a table")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Events <= 0 {
		cfg.Events = 1 << 16
	}
	n := &Node{cfg: cfg, sync: sc, table: cfg.Table, log: cfg.Logger}
	if !sc.DisableExternalCache {
		n.ext = NewExternalCache(0)
		n.ext.SetCommitTimeout(sc.CommitTimeout)
	}
	local, remote, mcast := sc.Transport.Local, sc.Transport.Peer, sc.Transport.Kind == "Multicast"
	if mcast {
		local, remote = sc.Transport.InterfaceAddr, sc.Transport.Local
	}
	if !local.IsValid() {
		local = netip.IPv4Unspecified()
		if remote.Is6() {
			local = netip.IPv6Unspecified()
		}
	}
	p, err := ListenPeer(PeerConfig{
		Session: SessionConfig{
			NoTrack:         sc.Mode == ModeNOTRACK,
			ACKWindowSize:   sc.ACKWindowSize,
			ResendQueueSize: sc.ResendQueueSize,
			Peer:            cfg.Peer,
			Resync:          n.SendBulk,
		},
		Local:      netip.AddrPortFrom(local, sc.Transport.Port),
		Remote:     netip.AddrPortFrom(remote, sc.Transport.Port),
		Multicast:  mcast,
		NoChecksum: !sc.Transport.Checksum,
		Interface:  sc.Transport.Interface,
		RcvBuffer:  sc.Transport.RcvBuffer,
		SndBuffer:  sc.Transport.SndBuffer,
		Apply:      n.apply,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	n.peer = p
	return n, nil
}

// Peer returns the node's peer.
func (n *Node) Peer() *Peer { return n.peer }

// Run syncs until ctx ends: it taps the table, runs the peer, asks for
// a resync at start if StartupResync is set, and sends the whole table
// again whenever table events were lost.
func (n *Node) Run(ctx context.Context) error {
	stop, lost := tap(n.table, n.peer, n.cfg.Events, n.sync.Filter.allows(), n.countSent)
	defer stop()
	n.lost = lost
	if n.sync.ExpectationSync {
		stopExp := n.tapExpectations()
		defer stopExp()
	}
	errc := make(chan error, 1)
	go func() { errc <- n.peer.Run(ctx) }()
	n.log.Info("state sync", "mode", n.sync.Mode, "local", n.peer.LocalAddr(), "peer", n.peer.cfg.Remote, "interface", n.sync.Transport.Interface, "external-cache", n.ext != nil)
	if n.sync.StartupResync {
		n.peer.RequestResync()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var seen uint64
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			if l := lost(); l != seen {
				n.log.Warn("state sync: table events lost; sending the whole table again", "lost", l-seen)
				seen = l
				n.SendBulk()
			}
		}
	}
}

// tapExpectations sends the table's expectation changes (ExpectationSync)
// until stopped. Expectations the table adopted are not sent back.
func (n *Node) tapExpectations() (stop func()) {
	sub := n.table.SubscribeExpectations(n.cfg.Events)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.Events() {
			if ev.Adopted || !n.syncsExpectation(&ev.Expectation) {
				continue
			}
			typ := TypeExpNew
			if ev.Type == conntrack.EventDestroy {
				typ = TypeExpDelete
			}
			x := FromExpectation(&ev.Expectation)
			n.peer.EnqueueExp(typ, &x)
		}
	}()
	return func() { sub.Close(); <-done }
}

// syncsExpectation reports whether ExpectationSync covers e: all, or
// those of the helpers it names, matched as conntrackd matches them (a
// case-insensitive prefix, so "sip" covers "sip-5060").
func (n *Node) syncsExpectation(e *conntrack.Expectation) bool {
	if len(n.sync.ExpectationHelpers) == 0 {
		return true
	}
	if e.Helper == nil {
		return false
	}
	name := e.Helper.Name()
	for _, h := range n.sync.ExpectationHelpers {
		if len(name) >= len(h) && strings.EqualFold(name[:len(h)], h) {
			return true
		}
	}
	return false
}

// allows is the filter as Tap's keep (nil when there is none).
func (f *Filter) allows() func(*conntrack.Conn) bool {
	if f.Protocols == nil && f.Addresses == nil && f.States == nil {
		return nil
	}
	return f.Allows
}

func (n *Node) countSent(typ MsgType) {
	switch typ {
	case TypeNew:
		n.sent.created.Add(1)
	case TypeDelete:
		n.sent.destroyed.Add(1)
	default:
		n.sent.updated.Add(1)
	}
}

// apply takes the peer's messages, on the peer's receiving goroutine.
func (n *Node) apply(rs []Received) {
	now := n.cfg.Now()
	if n.ext != nil {
		n.ext.Apply(rs, now)
		return
	}
	for i := range rs {
		err := Inject(n.table, rs[i:i+1], now)
		typ := rs[i].Type
		if typ >= TypeExpNew {
			typ -= TypeExpNew - TypeNew
		}
		switch {
		case err != nil:
			n.injected.failed.Add(1)
		case typ == TypeNew:
			n.injected.created.Add(1)
		case typ == TypeDelete:
			n.injected.destroyed.Add(1)
		default:
			n.injected.updated.Add(1)
		}
	}
}

// SendBulk sends every connection of the table the filter allows (what
// conntrackd -B does, and its answer to a resync request).
func (n *Node) SendBulk() {
	n.bulks.Add(1)
	keep := n.sync.Filter.allows()
	now := n.cfg.Now()
	for c := range n.table.All(now) {
		if keep != nil && !keep(&c) {
			continue
		}
		m := FromConn(&c, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
		n.peer.Enqueue(TypeUpdate, &m)
	}
	if n.sync.ExpectationSync {
		for _, e := range n.table.Expectations(now) {
			if n.syncsExpectation(&e) {
				x := FromExpectation(&e)
				n.peer.EnqueueExp(TypeExpUpdate, &x)
			}
		}
	}
}

// RequestResync asks the peer for its whole table (conntrackd -n).
func (n *Node) RequestResync() { n.peer.RequestResync() }

// ErrInjecting is the error of the external cache's commands on a node
// that injects the peer's connections (DisableExternalCache on).
var ErrInjecting = errors.New("ctsync: no external cache: the peer's connections are injected (DisableExternalCache on)")

// Commit promotes the external cache into the table (conntrackd -c): see
// ExternalCache.Commit.
func (n *Node) Commit() (int, error) {
	if n.ext == nil {
		return 0, ErrInjecting
	}
	start := n.cfg.Now()
	c, err := n.ext.Commit(n.table, start)
	n.log.Info("state sync: committed the external cache", "connections", c, "took", n.cfg.Now().Sub(start), "err", err)
	return c, err
}

// FlushExternal empties the external cache (conntrackd -f external).
func (n *Node) FlushExternal() error {
	if n.ext == nil {
		return ErrInjecting
	}
	n.ext.Flush()
	return nil
}

// ExternalExpectations returns the external cache's expectations
// (conntrackd -e expect).
func (n *Node) ExternalExpectations() []conntrack.Expectation {
	if n.ext == nil {
		return nil
	}
	return n.ext.Expectations(n.cfg.Now(), n.table.HelperNamed)
}

// External returns the external cache's connections (conntrackd -e).
func (n *Node) External() iter.Seq[conntrack.Conn] {
	if n.ext == nil {
		return func(func(conntrack.Conn) bool) {}
	}
	return n.ext.All(n.cfg.Now())
}

// Internal returns the live table's connections the filter allows, the
// internal cache (conntrackd -i).
func (n *Node) Internal() iter.Seq[conntrack.Conn] {
	keep := n.sync.Filter.allows()
	all := n.table.All(n.cfg.Now())
	return func(yield func(conntrack.Conn) bool) {
		for c := range all {
			if (keep == nil || keep(&c)) && !yield(c) {
				return
			}
		}
	}
}

// Stats returns the node's counters.
func (n *Node) Stats() NodeStats {
	st := NodeStats{PeerStats: n.peer.Stats(), Bulks: n.bulks.Load(), Injecting: n.ext == nil}
	st.Internal = CacheStats{Created: n.sent.created.Load(), Updated: n.sent.updated.Load(), Destroyed: n.sent.destroyed.Load()}
	if n.sync.Filter.allows() == nil {
		st.Internal.Active = n.table.Len()
	} else {
		for range n.Internal() {
			st.Internal.Active++
		}
	}
	if n.ext != nil {
		st.External = n.ext.Stats()
	} else {
		st.External = CacheStats{Created: n.injected.created.Load(), Updated: n.injected.updated.Load(), Destroyed: n.injected.destroyed.Load(), UpdateFailed: n.injected.failed.Load()}
	}
	if n.lost != nil {
		st.EventsLost = n.lost()
	}
	return st
}

// WriteStats writes the counters in the layout of conntrackd -s.
func (n *Node) WriteStats(w io.Writer) {
	st := n.Stats()
	block := func(title string, c CacheStats, active bool) {
		fmt.Fprintf(w, "%s:\n", title)
		if active {
			fmt.Fprintf(w, "current active connections:\t%12d\n", c.Active)
		}
		fmt.Fprintf(w, "connections created:\t\t%12d\tfailed:\t%12d\n", c.Created, c.CreateFailed)
		fmt.Fprintf(w, "connections updated:\t\t%12d\tfailed:\t%12d\n", c.Updated, c.UpdateFailed)
		fmt.Fprintf(w, "connections destroyed:\t\t%12d\tfailed:\t%12d\n\n", c.Destroyed, c.DestroyFailed)
	}
	block("cache internal", st.Internal, true)
	if st.Injecting {
		block("external inject", st.External, false)
	} else {
		block("cache external", st.External, true)
	}
	kind := "UDP"
	if n.sync.Transport.Kind == "Multicast" {
		kind = "multicast"
	}
	fmt.Fprintf(w, "%s traffic (active device=%s):\n", kind, n.sync.Transport.Interface)
	fmt.Fprintf(w, "%20d Bytes sent %20d Bytes recv\n", st.BytesSent, st.BytesReceived)
	fmt.Fprintf(w, "%20d Pckts sent %20d Pckts recv\n", st.Sent, st.Received)
	fmt.Fprintf(w, "%20d Error send %20d Error recv\n\n", st.SendErrors, st.RecvErrors)
	fmt.Fprintf(w, "message tracking:\n%20d Malformed msgs %20d Lost msgs\n\n", st.Malformed, st.Lost)
}
