package conntrack

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nfgo/nfgo/packet"
)

// PPTP's data packets (enhanced GRE, RFC 2637) carry one key, the call ID
// of the peer they go to: a tuple needs the sender's call ID as well,
// which is not in the packet. The PPTP helper learns both from the
// control connection and records them in the table's GRE keymap
// (nf_ct_gre_keymap in nf_conntrack_proto_gre.c): for each direction of a
// call, the addresses and the destination key map to the source key. A
// GRE version 1 packet's tuple takes its source key from there, or 0 if
// no call is known.
//
// The keymap is read for every PPTP data packet and written only when a
// call starts or ends, so it is a map replaced whole on each change:
// readers load it with one atomic load and take no lock.

// ErrGREKeyExists is returned by AddGREKey when the master has a key
// recorded for that direction already, for another tuple: the kernel
// keeps one call per control connection.
var ErrGREKeyExists = errors.New("conntrack: GRE keymap entry exists")

// greKeymapKey is what a keymap lookup compares (gre_key_cmpfn): family,
// addresses and destination key. The zone is not part of it, as in the
// kernel.
type greKeymapKey struct {
	src, dst [16]byte
	dstKey   uint16
	family   packet.Family
}

func greKeymapKeyOf(t *Tuple) greKeymapKey {
	return greKeymapKey{src: t.Src, dst: t.Dst, dstKey: t.DstPort, family: t.Family}
}

// greKeymap is the table's GRE keymap.
//
// mu serialises writers; it is taken after a shard's lock (a dying
// connection removes its keys with its shard locked) and before no
// other.
type greKeymap struct {
	mu sync.Mutex
	// keys maps a lookup to the source keys recorded for it, oldest
	// first (the kernel's list takes the first match). It is never
	// changed once stored: writers store a copy.
	keys atomic.Pointer[map[greKeymapKey][]uint16]
	// byMaster holds, for each master (by original tuple), the tuple
	// recorded for each direction, and whether one is. Guarded by mu.
	byMaster map[Tuple]greMasterKeys
}

type greMasterKeys struct {
	tuple [2]Tuple
	set   [2]bool
}

// srcKey returns the source key recorded for a GRE version 1 packet's
// tuple t, 0 if none is (gre_keymap_lookup).
func (g *greKeymap) srcKey(t *Tuple) uint16 {
	m := g.keys.Load()
	if m == nil {
		return 0
	}
	if l := (*m)[greKeymapKeyOf(t)]; len(l) > 0 {
		return l[0]
	}
	return 0
}

// store replaces the lookup map by one where fn has made its change to a
// copy. g.mu must be held.
func (g *greKeymap) store(fn func(m map[greKeymapKey][]uint16)) {
	m := map[greKeymapKey][]uint16{}
	if old := g.keys.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	fn(m)
	if len(m) == 0 {
		g.keys.Store(nil)
		return
	}
	g.keys.Store(&m)
}

// AddGREKey records, for the PPTP control connection of master's packet,
// the tuple tp of its call's GRE packets in direction dir
// (nf_ct_gre_keymap_add): from then on, a GRE version 1 packet with tp's
// addresses and destination key gets tp's source key. Recording the same
// addresses and destination key again does nothing (a retransmitted
// message); another call's for a direction that has one fails with
// ErrGREKeyExists. The keys go when RemoveGREKeys is called,
// when the master is destroyed by a helper that removes them then, or
// when a GRE connection it expected is destroyed.
func (t *Table) AddGREKey(master *Result, dir Dir, tp Tuple) error {
	return t.gre.add(masterOf(master), dir, tp)
}

func (g *greKeymap) add(master Tuple, dir Dir, tp Tuple) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	mk := g.byMaster[master]
	if mk.set[dir] {
		// A retransmission names the same call: same addresses and
		// destination key (gre_key_cmpfn).
		if greKeymapKeyOf(&mk.tuple[dir]) == greKeymapKeyOf(&tp) {
			return nil
		}
		return ErrGREKeyExists
	}
	mk.tuple[dir], mk.set[dir] = tp, true
	if g.byMaster == nil {
		g.byMaster = map[Tuple]greMasterKeys{}
	}
	g.byMaster[master] = mk
	g.store(func(keys map[greKeymapKey][]uint16) {
		k := greKeymapKeyOf(&tp)
		keys[k] = append(slices.Clip(keys[k]), tp.SrcPort)
	})
	return nil
}

// RemoveGREKeys forgets the keys recorded for the master whose original
// tuple is master (nf_ct_gre_keymap_destroy).
func (t *Table) RemoveGREKeys(master Tuple) { t.gre.remove(master) }

func (g *greKeymap) remove(master Tuple) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mk, ok := g.byMaster[master]
	if !ok {
		return
	}
	delete(g.byMaster, master)
	g.store(func(keys map[greKeymapKey][]uint16) {
		for d := range mk.tuple {
			if !mk.set[d] {
				continue
			}
			k := greKeymapKeyOf(&mk.tuple[d])
			l := keys[k]
			for i, v := range l {
				if v == mk.tuple[d].SrcPort {
					l = slices.Delete(slices.Clone(l), i, i+1)
					break
				}
			}
			if len(l) == 0 {
				delete(keys, k)
			} else {
				keys[k] = l
			}
		}
	})
}

// greKeyEntry is one keymap entry, as snapshots keep them.
type greKeyEntry struct {
	master Tuple
	dir    Dir
	tuple  Tuple
}

// entries returns the keymap's entries, masters in any order.
func (g *greKeymap) entries() []greKeyEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []greKeyEntry
	for m, mk := range g.byMaster {
		for d := range mk.tuple {
			if mk.set[d] {
				out = append(out, greKeyEntry{master: m, dir: Dir(d), tuple: mk.tuple[d]})
			}
		}
	}
	return out
}

// TupleOf returns the tuple of a packet in its own direction, as the
// package's TupleOf does, and for a PPTP data packet (GRE version 1) with
// the source key the table's GRE keymap records for it
// (gre_pkt_to_tuple).
func (t *Table) TupleOf(p *packet.Packet, zone uint16) (Tuple, bool) {
	tp, ok := TupleOf(p, zone)
	if ok && tp.Proto == packet.ProtoGRE && p.GREVersion == 1 {
		tp.SrcPort = t.gre.srcKey(&tp)
	}
	return tp, ok
}
