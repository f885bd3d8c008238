package conntrack

import (
	"errors"
	"fmt"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// ErrTupleTaken is wrapped by Adopt's error when another connection
// holds the adopted connection's reply tuple.
var ErrTupleTaken = errors.New("conntrack: tuple taken by another connection")

// Adopt puts a connection handed over from elsewhere (a sync peer's
// commit, the kernel's table) into the table at time now, as ctnetlink's
// create does for conntrackd's commit: confirmed, expiring after
// c.Timeout, with its reply tuple (and so its NAT binding) as given.
// A connection already in the table under c.Orig is replaced.
//
// What the handover does not carry is picked up as the kernel picks it
// up for a connection conntrackd commits: TCP windows are unknown and
// both directions are be-liberal, so the next packets set the windows
// (mid-stream pickup) and no window check fails meanwhile; counters
// start at zero. The fields read are Orig, Reply, Status, TCPState,
// SCTPState, Timeout, Mark, Labels and Helper (one of Config.Helpers,
// see HelperNamed; nil for none). The new connection is reported as an
// EventNew with Adopted set.
func (t *Table) Adopt(c Conn, now time.Time) error {
	ns := now.UnixNano()
	if c.Orig.Family == 0 || c.Reply.Family != c.Orig.Family {
		return fmt.Errorf("conntrack: adopting %v: no tuples", c.Orig)
	}
	if c.Timeout <= 0 {
		return nil // expired on the way
	}
	// A connection adopted again (a peer's update, a new dump of the
	// kernel's table) keeps its expectations, as the kernel's does when
	// ctnetlink changes it: they are held aside while it is replaced.
	if kept := t.ext.expect.detach(&c.Orig, &c.Reply); kept != nil {
		defer func() {
			_, dir, found := t.Get(c.Orig, now)
			t.ext.expect.reattach(&c.Orig, kept, found && dir == Original, ns)
		}()
	}
	t.Delete(c.Orig, now)
	e := entry{started: ns, born: ticks(ns)}
	e.tuple[Original], e.tuple[Reply] = c.Orig, c.Reply
	e.status = c.Status&^(StatusDying|StatusOffload|StatusHWOffload) | StatusConfirmed
	e.mark = c.Mark
	e.setTimeout(ns, c.Timeout)
	e.ext.labels = c.Labels
	e.tcp.state = c.TCPState
	e.tcp.flags = [2]uint8{tcpFlagBeLiberal, tcpFlagBeLiberal}
	e.ext.sctp.state = c.SCTPState
	if c.Helper != nil {
		e.ext.help = Help{Helper: c.Helper}
		e.status |= StatusHelper
	}
	if t.Len() >= t.cfg.Max {
		return fmt.Errorf("conntrack: adopting %v: %w", c.Orig, ErrTableFull)
	}
	// nf_conntrack_hash_check_insert refuses a connection either of
	// whose tuples another one holds.
	if _, _, found := t.Get(c.Reply, now); found {
		return fmt.Errorf("conntrack: adopting %v: reply %v: %w", c.Orig, c.Reply, ErrTupleTaken)
	}
	if !t.restore(e) {
		if t.Len() >= t.cfg.Max {
			return fmt.Errorf("conntrack: adopting %v: %w", c.Orig, ErrTableFull)
		}
		return fmt.Errorf("conntrack: adopting %v: reply %v: %w", c.Orig, c.Reply, ErrTupleTaken)
	}
	t.emitFrom(EventNew, &e, ns, true, t.shardOf(&e.tuple[Original]))
	return nil
}

// HelperNamed returns the helper of Config.Helpers with the given name
// (conntrack -L's helper=), for a connection handed over by name.
func (t *Table) HelperNamed(name string) (Helper, bool) {
	h, err := t.helperNamed(name)
	return h, err == nil && h != nil
}

// AdoptExpectation puts an expectation handed over from elsewhere (a
// sync peer's commit) into the table at time now, as ctnetlink's
// expectation create does for conntrackd's: its master, e.Master, must
// be in the table already (conntrackd commits the connections first),
// and the expectation takes the master's reply tuple, helper and mark.
// It lives for e.Timeout (0: its class's, as Expect gives it). Expect's
// checks apply: an identical expectation of the master is replaced, a
// clashing one refuses it, and so does a full expectation table. It is
// reported as an EventNew with Adopted set.
func (t *Table) AdoptExpectation(e Expectation, now time.Time) error {
	master, dir, ok := t.Get(e.Master, now)
	if !ok || dir != Original {
		return fmt.Errorf("conntrack: adopting expectation %v: master %v: %w", e.Tuple, e.Master, ErrNoMaster)
	}
	e.Master, e.MasterReply = master.Orig, master.Reply
	if e.Helper == nil {
		e.Helper = master.Helper
	}
	if e.Helper != nil && e.Timeout <= 0 {
		e.Timeout = e.Helper.Policy(e.Class).Timeout
	}
	if e.Timeout <= 0 {
		e.Timeout = DefaultExpectTimeout
	}
	if e.Tuple.Family != packet.IPv4 && e.Tuple.Family != packet.IPv6 || e.Mask&^(ExpectAnySrcAddr|ExpectAnySrcPort) != 0 {
		return fmt.Errorf("conntrack: adopting expectation %v: %w", e.Tuple, ErrBadExpectation)
	}
	ns := now.UnixNano()
	x := &t.ext.expect
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.check(&e, ns, false, 0); err != nil {
		return fmt.Errorf("conntrack: adopting expectation %v: %w", e.Tuple, err)
	}
	x.add(&expectation{Expectation: e, mark: master.Mark, deadline: ns + int64(e.Timeout), adopted: true}, ns)
	return nil
}
