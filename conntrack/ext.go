package conntrack

import (
	"iter"
	"time"
)

// connExt is what few connections have, kept apart from the compact
// entry that every connection has (the kernel's nf_ct_ext and the rarer
// protocols' state): labels, an SCTP association's tracking state, the
// sequence adjustment of a connection a helper resized, the interface
// MASQUERADE bound it to, its helper with the helper's state, and, for a
// connection an expectation created, its master's helper. A shard keeps
// the extensions of its connections in one store (shard.exts), holding an
// entry only for a connection that has any of them, so the many that
// have none pay nothing. A new kind of per-connection state goes here,
// and is then stored, materialised, listed and snapshotted with the
// rest.
type connExt struct {
	labels [2]uint64
	seqadj [2]SeqAdj
	// masq is the MASQUERADE output interface (Result.SetMasquerade),
	// 0 if none.
	masq uint32
	// help is the connection's helper (StatusHelper is set when it has
	// one).
	help Help
	// master is the helper of the connection's master, for an expected
	// connection (StatusExpected), nil if the master had none: what
	// -m helper matches. masterOf is the master's original tuple.
	master   Helper
	masterOf Tuple
	// sctp is an SCTP connection's tracking state; every SCTP
	// connection has it, and its packets read it.
	sctp sctpTrack
	// synproxy is the state of a connection SYNPROXY opened
	// (statusSynproxy is set when it has one).
	synproxy Synproxy
}

// extKey names a stored connection in its shard's extension map.
func extKey(kind storeKind, slot uint32) uint64 { return uint64(kind)<<32 | uint64(slot) }

// ext returns a stored connection's extensions. s.mu must be held.
func (s *shard) ext(kind storeKind, slot uint32) connExt { return s.exts.get(extKey(kind, slot)) }

// setExt stores a connection's extensions; the zero value deletes them.
// s.mu must be held.
func (s *shard) setExt(kind storeKind, slot uint32, x connExt) { s.exts.set(extKey(kind, slot), x) }

// extStore is a shard's extensions: an index from a connection's
// extKey to its place in a slab, whose freed places are reused. A
// connExt is too large for a map to hold in place, so a map of them
// would allocate for every connection given one (a MASQUERADEd one,
// say); the slab grows by doubling and is then reused. The index is an
// openMap: connections come and go, and a Go map would keep the
// tombstones of the gone.
type extStore struct {
	index openMap[uint64, uint32]
	slab  []connExt
	keys  []uint64 // each slab place's key, freeKey when free
	free  []uint32
}

const freeKey = ^uint64(0) // no extKey: kinds are below 2^32-1

// keyHash hashes an extKey for an openMap.
func keyHash(k uint64) uint64 { return xxh64Words(0, k, 0) }

func (e *extStore) get(k uint64) connExt {
	if i := e.index.get(&k, keyHash(k)); i != nil {
		return e.slab[*i]
	}
	return connExt{}
}

func (e *extStore) set(k uint64, x connExt) {
	if x == (connExt{}) {
		e.del(k)
		return
	}
	h := keyHash(k)
	if i := e.index.get(&k, h); i != nil {
		e.slab[*i] = x
		return
	}
	var i uint32
	if n := len(e.free); n > 0 {
		i, e.free = e.free[n-1], e.free[:n-1]
		e.slab[i], e.keys[i] = x, k
	} else {
		i = uint32(len(e.slab))
		e.slab = append(e.slab, x)
		e.keys = append(e.keys, k)
	}
	e.index.put(k, h, i)
}

func (e *extStore) del(k uint64) {
	h := keyHash(k)
	p := e.index.get(&k, h)
	if p == nil {
		return
	}
	i := *p
	e.index.del(&k, h)
	e.slab[i], e.keys[i] = connExt{}, freeKey
	e.free = append(e.free, i)
}

// all yields every stored connection's extensions, in slab order; the
// loop may delete entries (through the shard) as it goes.
func (e *extStore) all() iter.Seq2[uint64, connExt] {
	return func(yield func(uint64, connExt) bool) {
		for i := range e.keys {
			if k := e.keys[i]; k != freeKey && !yield(k, e.slab[i]) {
				return
			}
		}
	}
}

// editExt applies edit to the extensions of the connection r
// describes, wherever they are: the unconfirmed entry of a new
// connection, or the stored one, under its shard's lock. It sets the
// status bits add on the connection (and in r), and a stored
// connection that gains a bit the listings show (all but
// statusSynproxy) emits an update event. A connection no longer stored
// is left alone.
func (t *Table) editExt(r *Result, add Status, now time.Time, edit func(x *connExt)) {
	r.Status |= add
	if r.isNew {
		r.pending.status |= add
		edit(&r.pending.ext)
		return
	}
	s := r.ref.shard
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.stillThere(&r.ref, &r.natOther)
	if !ok {
		return
	}
	x := s.ext(r.ref.kind, r.ref.slot)
	edit(&x)
	s.setExt(r.ref.kind, r.ref.slot, x)
	if gained := add &^ c.status; gained != 0 {
		c.status |= gained
		if gained&^statusSynproxy != 0 {
			t.emitStored(EventUpdate, s, r.ref.kind, r.ref.slot, now.UnixNano())
		}
	}
}

// extStatus are the status bits that say a connection has extensions a
// packet needs: its sequence adjustment, its helper, its master's
// helper, its SYNPROXY state. A packet of any other connection never
// reads the map.
const extStatus = StatusSeqAdjust | StatusHelper | StatusExpected | statusSynproxy

// Helper is what the table knows of a connection tracking helper (struct
// nf_conntrack_helper, as conntrack itself uses it): its name, for
// listings, events, snapshots and -m helper, and its expectation policy.
// Package helpers implements the kernel's helpers; an implementation
// must be comparable (a pointer) and safe for concurrent use.
type Helper interface {
	// Name returns the helper's name, as CT --helper and conntrack -L
	// ("helper=ftp") give it.
	Name() string
	// Policy returns the expectation policy of one of the helper's
	// expectation classes (struct nf_conntrack_expect_policy).
	Policy(class uint8) ExpectPolicy
}

// ExpectPolicy limits the expectations of one class of one master
// connection.
type ExpectPolicy struct {
	// Name is the class's name (SIP's "signalling", "audio", "video",
	// "image"; "default" for the others).
	Name string
	// MaxExpected is how many expectations of the class a master may
	// have; a new one evicts the oldest (0: no limit).
	MaxExpected int
	// Timeout is how long an expectation of the class lives unless it
	// sets its own.
	Timeout time.Duration
}

// HelpDataSize is the room a helper has for what it keeps about one
// connection, as the kernel's nf_conn_help has a fixed-size data area
// (NF_CT_HELPER_BUILD_BUG_ON): FTP's positions after the last newline in
// each direction, SIP's sequence numbers, PPTP's call IDs.
const HelpDataSize = 32

// Help is a connection's helper and the helper's private state about it
// (struct nf_conn_help). The table stores Data for the helper and never
// reads it.
type Help struct {
	Helper Helper
	Data   [HelpDataSize]byte
}

// SetHelper attaches helper h to the new connection of r's packet, as
// __nf_ct_try_assign_helper does with the helper of the template a
// CT --helper rule gave the packet. The helper then sees every packet of
// the connection (see package helpers). It reports false, changing
// nothing, if the connection is not new and unconfirmed, or was created
// by an expectation (which brings its own helper, if any).
func (t *Table) SetHelper(r *Result, h Helper) bool {
	if !r.isNew || h == nil || r.pending.status&StatusExpected != 0 {
		return false
	}
	e := &r.pending
	e.ext.help = Help{Helper: h}
	e.status |= StatusHelper
	r.Help, r.Status = e.ext.help, e.status
	return true
}

// SetHelpData stores the state the connection's helper keeps about it,
// after the helper has handled r's packet. Two packets of one
// connection handled at the same moment on two goroutines each start
// from the state as it was, and the later store wins: the kernel
// serialises each helper on one global lock, which nfgo does not put on
// the packet path.
func (t *Table) SetHelpData(r *Result, d *[HelpDataSize]byte) {
	if !r.Tracked() || r.Help.Helper == nil || r.Help.Data == *d {
		return
	}
	r.Help.Data = *d
	if r.isNew {
		r.pending.ext.help.Data = *d
		return
	}
	s := r.ref.shard
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stillThere(&r.ref, &r.natOther); !ok {
		return
	}
	x := s.ext(r.ref.kind, r.ref.slot)
	if x.help.Helper == nil {
		return
	}
	x.help.Data = *d
	s.setExt(r.ref.kind, r.ref.slot, x)
}
