package ctnetlink

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// Adopter takes the kernel's connections into an nfgo table, NAT
// bindings included, and keeps each current from the kernel's events
// until nfgo has seen a packet of it: from then on nfgo's copy is the
// live one, and the kernel's (which sees no more packets once the path
// is nfgo's) may expire without taking it along.
//
// It subscribes before it dumps, and applies what arrived during the
// dump after it, so that no change falls between the two (conntrackd
// dumps first and has that window). The kernel sends no events for a
// connection made while nf_conntrack_events was 2 (its default) and
// nobody listened, so Run also dumps the table every DumpInterval and
// deletes the adopted connections nfgo does not own that the kernel no
// longer has.
type Adopter struct {
	// DumpInterval is how often Run dumps the kernel's table again (0:
	// 10 s). Set it before Run.
	DumpInterval time.Duration

	table *conntrack.Table
	ev    *Events
	// sock dumps the table; it is opened with ev, so that both are of
	// the namespace NewAdopter ran in.
	sock *Socket
	now  func() time.Time
	// adopted are the original tuples of the connections taken and not
	// yet owned by nfgo; only the goroutine of NewAdopter and Run uses
	// it.
	adopted map[conntrack.Tuple]struct{}
	// expSeen are the kernel's expectations already taken, so that a
	// later dump does not bring back one nfgo has used up. Only the
	// goroutine of NewAdopter and Run uses it.
	expSeen map[expKey]struct{}
	stats   struct {
		dumps, dumped, adopted, failed, updated, deleted, owned, lost atomic.Uint64
		expAdopted, expFailed                                         atomic.Uint64
	}
}

// AdoptStats are an Adopter's counters.
type AdoptStats struct {
	// Dumps counts the dumps of the kernel's table.
	Dumps uint64
	// Dumped counts the connections the kernel's dumps listed; Adopted
	// those taken (from dumps and events), Failed those refused (a
	// full table, a tuple taken).
	Dumped, Adopted, Failed uint64
	// Updated and Deleted count events applied to adopted connections;
	// Owned counts events ignored because nfgo had seen a packet of the
	// connection.
	Updated, Deleted, Owned uint64
	// Lost counts event overflows, each repaired by a new dump.
	Lost uint64
	// Expectations counts the kernel's expectations taken (each once),
	// ExpectFailed those refused (no master in nfgo's table, a clash).
	Expectations, ExpectFailed uint64
}

// expKey names an expectation: its master and its tuple.
type expKey struct{ master, tuple conntrack.Tuple }

// NewAdopter enables the kernel's events for every connection (see
// EnableEvents), subscribes, dumps the kernel's table into t, and
// returns when the dump is adopted; Run then follows the events.
func NewAdopter(t *conntrack.Table, now func() time.Time) (*Adopter, error) {
	if now == nil {
		now = time.Now
	}
	if _, err := EnableEvents(); err != nil {
		return nil, err
	}
	ev, err := Subscribe(8 << 20)
	if err != nil {
		return nil, err
	}
	sock, err := Open()
	if err != nil {
		ev.Close()
		return nil, err
	}
	a := &Adopter{table: t, ev: ev, sock: sock, now: now, adopted: map[conntrack.Tuple]struct{}{}, expSeen: map[expKey]struct{}{}}
	if err := a.dump(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// dump adopts every connection of a fresh dump that nfgo does not own.
func (a *Adopter) dump() error {
	conns, err := a.sock.Dump()
	if err != nil && !errors.Is(err, ErrMalformed) {
		return err
	}
	a.stats.dumps.Add(1)
	a.stats.dumped.Add(uint64(len(conns)))
	listed := make(map[conntrack.Tuple]struct{}, len(conns))
	for i := range conns {
		listed[conns[i].Conn.Orig] = struct{}{}
		a.apply(Event{Type: EventNew, Entry: conns[i]})
	}
	// What the kernel no longer has, and nfgo has not taken over, goes.
	for orig := range a.adopted {
		if _, ok := listed[orig]; !ok {
			a.apply(Event{Type: EventDestroy, Entry: Entry{Conn: conntrack.Conn{Orig: orig}}})
		}
	}
	return a.dumpExpectations()
}

// dumpExpectations adopts the kernel's expectations nfgo has not taken
// yet, after their masters (see conntrack.Table.AdoptExpectation).
func (a *Adopter) dumpExpectations() error {
	exps, err := a.sock.DumpExpectations()
	if err != nil && !errors.Is(err, ErrMalformed) {
		return err
	}
	now := a.now()
	listed := make(map[expKey]struct{}, len(exps))
	for i := range exps {
		e := exps[i].Expectation
		k := expKey{e.Master, e.Tuple}
		listed[k] = struct{}{}
		if _, seen := a.expSeen[k]; seen {
			continue
		}
		if exps[i].Helper != "" {
			e.Helper, _ = a.table.HelperNamed(exps[i].Helper)
		}
		if err := a.table.AdoptExpectation(e, now); err != nil {
			a.stats.expFailed.Add(1)
			continue
		}
		a.expSeen[k] = struct{}{}
		a.stats.expAdopted.Add(1)
	}
	for k := range a.expSeen {
		if _, ok := listed[k]; !ok {
			delete(a.expSeen, k)
		}
	}
	return nil
}

// owned reports whether nfgo has seen a packet of the connection.
func (a *Adopter) owned(orig conntrack.Tuple, now time.Time) (conntrack.Conn, bool, bool) {
	cur, _, found := a.table.Get(orig, now)
	if !found {
		return cur, false, false
	}
	n := cur.Counters[conntrack.Original].Packets + cur.Counters[conntrack.Reply].Packets
	return cur, true, n > 0
}

func (a *Adopter) apply(ev Event) {
	now := a.now()
	orig := ev.Conn.Orig
	cur, found, owned := a.owned(orig, now)
	if owned {
		a.stats.owned.Add(1)
		delete(a.adopted, orig)
		return
	}
	if ev.Type == EventDestroy {
		if found {
			a.table.Delete(orig, now)
			a.stats.deleted.Add(1)
		}
		delete(a.adopted, orig)
		return
	}
	c := ev.Conn
	if c.Timeout <= 0 && found {
		c.Timeout = cur.Timeout
	}
	if ev.Helper != "" {
		// A helper nfgo does not have leaves the connection without
		// one, as a kernel without the module would.
		c.Helper, _ = a.table.HelperNamed(ev.Helper)
	}
	if err := a.table.Adopt(c, now); err != nil {
		a.stats.failed.Add(1)
		return
	}
	a.adopted[orig] = struct{}{}
	if found {
		a.stats.updated.Add(1)
	} else {
		a.stats.adopted.Add(1)
	}
}

// Run follows the kernel's events until ctx ends, then closes the
// subscription.
func (a *Adopter) Run(ctx context.Context) error {
	defer a.Close()
	every := a.DumpInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	next := time.Now().Add(every)
	var evs []Event
	for {
		if ctx.Err() != nil {
			return nil
		}
		if time.Now().After(next) {
			next = time.Now().Add(every)
			if err := a.dump(); err != nil {
				return fmt.Errorf("ctnetlink: dumping: %w", err)
			}
		}
		var err error
		evs, err = a.ev.Read(evs[:0])
		if errors.Is(err, ErrEventsLost) {
			a.stats.lost.Add(1)
			if err := a.dump(); err != nil {
				return fmt.Errorf("ctnetlink: dumping after lost events: %w", err)
			}
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range evs {
			a.apply(ev)
		}
	}
}

// Close ends the subscription, when Run is not used.
func (a *Adopter) Close() error { return errors.Join(a.ev.Close(), a.sock.Close()) }

// Stats returns the counters.
func (a *Adopter) Stats() AdoptStats {
	return AdoptStats{
		Dumps: a.stats.dumps.Load(), Dumped: a.stats.dumped.Load(), Adopted: a.stats.adopted.Load(), Failed: a.stats.failed.Load(),
		Updated: a.stats.updated.Load(), Deleted: a.stats.deleted.Load(), Owned: a.stats.owned.Load(),
		Lost: a.stats.lost.Load(), Expectations: a.stats.expAdopted.Load(), ExpectFailed: a.stats.expFailed.Load(),
	}
}

// Export writes every connection of t into the kernel's table (see
// Socket.Create), then its expectations (Socket.CreateExpectation). It
// returns how many connections were written; the error joins what was
// not.
func Export(t *conntrack.Table, now time.Time) (int, error) {
	s, err := Open()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	n := 0
	var errs []error
	for c := range t.All(now) {
		if err := s.Create(&c); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	// Expectations after their masters, which carry the helper the
	// kernel requires of them.
	for _, e := range t.Expectations(now) {
		if err := s.CreateExpectation(&e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("ctnetlink: %d connections or expectations not exported: %w", len(errs), errors.Join(errs...))
	}
	return n, nil
}
