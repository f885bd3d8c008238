package conntrack

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// DestroyHook is what a helper does when a connection it is attached to
// leaves the table, by timeout, deletion, eviction or flush (the
// kernel's nf_conntrack_helper.destroy): PPTP forgets its call's GRE
// keys and kills the call's GRE connections. The table runs it after the
// removal, outside its locks, so a hook may call any Table method; it
// runs before the call that removed the connection returns (In, Collect,
// Flush, Delete, DeleteFunc, FlushMasquerade), or, for one reaped by a
// lookup elsewhere, at the next packet.
type DestroyHook func(t *Table, c *Destroyed, now time.Time)

// Destroyer is implemented by a Helper that may have a destroy hook.
type Destroyer interface {
	// DestroyHook returns the hook, nil if the helper has none.
	DestroyHook() DestroyHook
}

// Destroyed is a connection that has left the table, as its helper's
// DestroyHook gets it.
type Destroyed struct {
	Orig, Reply Tuple
	// Help is the connection's helper and the helper's state.
	Help Help
}

// destroyHookOf returns h's destroy hook, nil if it has none.
func destroyHookOf(h Helper) DestroyHook {
	if d, ok := h.(Destroyer); ok {
		return d.DestroyHook()
	}
	return nil
}

// dyingQueue holds the destroy hooks of removed connections until the
// locks are released.
//
// mu guards q and is taken with a shard's lock held, and before no other
// lock.
type dyingQueue struct {
	// n is len(q), for the packet path's check: it is written only when
	// a helped connection dies, so its cache line stays shared.
	_  [64]byte
	n  atomic.Int32
	mu sync.Mutex
	q  []dyingConn
}

type dyingConn struct {
	hook DestroyHook
	conn Destroyed
	now  int64
}

// helperGone does for a connection being removed what its helper, or
// its master's, asks: a helper's destroy hook is queued, and a GRE
// connection a PPTP control connection expected takes the master's GRE
// keys with it (destroy_gre_conntrack). s.mu must be held.
func (t *Table) helperGone(s *shard, kind storeKind, slot uint32, status Status, now int64) {
	x := s.ext(kind, slot)
	orig := s.origTuple(kind, slot)
	if status&StatusHelper != 0 {
		if hook := destroyHookOf(x.help.Helper); hook != nil {
			reply, natted := s.natReply(kind, slot)
			if !natted {
				reply, _ = orig.Invert()
			}
			t.dying.mu.Lock()
			t.dying.q = append(t.dying.q, dyingConn{hook: hook, conn: Destroyed{Orig: orig, Reply: reply, Help: x.help}, now: now})
			t.dying.n.Store(int32(len(t.dying.q)))
			t.dying.mu.Unlock()
		}
	}
	if status&StatusExpected != 0 && orig.Proto == packet.ProtoGRE && destroyHookOf(x.master) != nil {
		t.gre.remove(x.masterOf)
	}
}

// runDestroyHooks runs the queued destroy hooks. It is called with no
// lock held; a hook that removes connections queues more, which run too.
func (t *Table) runDestroyHooks() {
	for t.dying.n.Load() != 0 {
		t.dying.mu.Lock()
		q := t.dying.q
		t.dying.q = nil
		t.dying.n.Store(0)
		t.dying.mu.Unlock()
		for i := range q {
			d := &q[i]
			d.hook(t, &d.conn, time.Unix(0, d.now))
		}
	}
}

// runPendingDestroyHooks is runDestroyHooks for the packet path: one
// load when, as nearly always, no connection is dying.
func (t *Table) runPendingDestroyHooks() {
	if t.dying.n.Load() != 0 {
		t.runDestroyHooks()
	}
}
