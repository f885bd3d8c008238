package conntrack

import (
	"errors"
	"fmt"
	"time"
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
// SCTPState, Timeout, Mark and Labels. The new connection is reported as
// an EventNew with Adopted set.
func (t *Table) Adopt(c Conn, now time.Time) error {
	ns := now.UnixNano()
	if c.Orig.Family == 0 || c.Reply.Family != c.Orig.Family {
		return fmt.Errorf("conntrack: adopting %v: no tuples", c.Orig)
	}
	if c.Timeout <= 0 {
		return nil // expired on the way
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
	t.emitFrom(EventNew, &e, ns, true)
	return nil
}
