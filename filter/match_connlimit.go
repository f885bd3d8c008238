package filter

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ConnlimitMatch is -m connlimit (xt_connlimit.c over nf_conncount.c):
// it counts the connections from (or, with Dst, to) the packet's address
// masked to PrefixLen, and matches when the count is above Limit (or, with
// Upto, at most Limit).
//
// As in the kernel, the count is of the connections this rule has seen:
// each packet that reaches the match adds its connection to its address's
// list, once, and a connection leaves the list when conntrack no longer
// has it or it is closing (TCP TIME_WAIT or CLOSE). A connection seen
// less than connlimitGrace ago that conntrack does not know yet is kept:
// its first packet may still be on its way to confirmation. The state is
// the rule's, so it survives edits of the ruleset (see Ruleset.Clone).
type ConnlimitMatch struct {
	// Limit is the --connlimit-above or --connlimit-upto number.
	Limit uint32
	// Upto is true for --connlimit-upto (the kernel's XT_CONNLIMIT_INVERT):
	// match while the count is at most Limit.
	Upto bool
	// PrefixLen is --connlimit-mask.
	PrefixLen uint8
	// Dst is --connlimit-daddr: group by destination, not source.
	Dst bool

	state atomic.Pointer[connlimitState]
}

// Name returns "connlimit".
func (*ConnlimitMatch) Name() string { return "connlimit" }

// NeedsConntrack reports true.
func (*ConnlimitMatch) NeedsConntrack() bool { return true }

// connlimitGrace is how long a connection conntrack does not know yet is
// still counted, because its first packet may be on its way to
// confirmation. nf_conncount waits 2 jiffies (8 ms at HZ=250); nfgo
// decides a packet in microseconds, so one that is unknown a millisecond
// after it was counted was dropped.
const connlimitGrace = time.Millisecond

// connlimitShards spreads the addresses over locks, as nf_conncount's
// tree slots do.
const connlimitShards = 16

type connlimitState struct {
	shards [connlimitShards]connlimitShard
}

type connlimitShard struct {
	mu     sync.Mutex
	groups map[connlimitKey]*connlimitList
	_      [64]byte
}

// connlimitKey is the masked address and the zone a count is kept for.
type connlimitKey struct {
	addr [16]byte
	zone uint16
}

type connlimitList struct {
	conns []connlimitConn
	// lastGC is when the list was last checked against conntrack; a
	// packet within the same millisecond skips the check, as
	// nf_conncount skips it within a jiffy.
	lastGC time.Time
}

type connlimitConn struct {
	id    ConnID
	added time.Time
}

// Match counts the packet's connection and compares.
func (m *ConnlimitMatch) Match(c *Context) bool {
	if c.Conns == nil {
		return false
	}
	id, zone, ok := c.Conns.PacketConn()
	if !ok {
		c.HotDrop = true
		return false
	}
	a := c.Packet.Src()
	if m.Dst {
		a = c.Packet.Dst()
	}
	key := connlimitKey{addr: maskAddr(a, m.PrefixLen), zone: zone}
	st := m.state.Load()
	if st == nil {
		m.state.CompareAndSwap(nil, &connlimitState{})
		st = m.state.Load()
	}
	n := st.count(key, id, c.Conns, c.Now)
	return (n > int(m.Limit)) != m.Upto
}

// maskAddr returns a's first bits bits, as 16 bytes.
func maskAddr(a netip.Addr, bits uint8) [16]byte {
	b := a.As16()
	keep := int(bits)
	if a.Is4() {
		keep += 96
	}
	for i := range b {
		switch {
		case keep >= 8:
			keep -= 8
		case keep > 0:
			b[i] &= ^byte(0xff >> keep)
			keep = 0
		default:
			b[i] = 0
		}
	}
	return b
}

// count adds the connection to key's list unless it is there, dropping
// connections that are gone, and returns the list's length
// (nf_conncount_count).
func (st *connlimitState) count(key connlimitKey, id ConnID, conns ConnCounter, now time.Time) int {
	h := binary.LittleEndian.Uint64(key.addr[:8]) ^ binary.LittleEndian.Uint64(key.addr[8:])*0x9e3779b97f4a7c15 ^ uint64(key.zone)
	sh := &st.shards[(h>>59)%connlimitShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.groups[key]
	if l == nil {
		if sh.groups == nil {
			sh.groups = map[connlimitKey]*connlimitList{}
		}
		l = &connlimitList{}
		sh.groups[key] = l
	}
	l.add(id, conns, now)
	// Look at one other address of the shard too (the map's random order
	// picks it), and forget it once none of its connections live: the
	// kernel's tree_gc_worker frees empty nodes.
	for k, other := range sh.groups {
		if other != l && now.Sub(other.lastGC) >= time.Second {
			other.lastGC = now
			other.collect(conns, now)
			if len(other.conns) == 0 {
				delete(sh.groups, k)
			}
		}
		break
	}
	return len(l.conns)
}

// connlimitGCMax bounds how many dead connections one packet removes
// (CONNCOUNT_GC_MAX_NODES).
const connlimitGCMax = 8

// add walks the list as __nf_conncount_add does, dropping connections
// that are gone or closing, and appends id unless the walk meets it
// first. The walk stops at id, as the kernel's does, so the dead
// connections behind it stay counted until a later packet's walk.
func (l *connlimitList) add(id ConnID, conns ConnCounter, now time.Time) {
	l.lastGC = now
	collected := 0
	for i := 0; i < len(l.conns); {
		if collected > connlimitGCMax {
			break
		}
		e := l.conns[i]
		tracked, closing := conns.ConnState(e.id)
		switch {
		case !tracked && now.Sub(e.added) < connlimitGrace:
			// Perhaps not confirmed yet: keep it.
			if e.id == id {
				return
			}
			i++
		case !tracked:
			l.remove(i)
			collected++
		case e.id == id:
			return
		case closing:
			l.remove(i)
			collected++
		default:
			i++
		}
	}
	l.conns = append(l.conns, connlimitConn{id: id, added: now})
}

// collect drops the connections of l that are gone or closing.
func (l *connlimitList) collect(conns ConnCounter, now time.Time) {
	for i := 0; i < len(l.conns); {
		tracked, closing := conns.ConnState(l.conns[i].id)
		if (!tracked && now.Sub(l.conns[i].added) >= connlimitGrace) || closing {
			l.remove(i)
			continue
		}
		i++
	}
}

func (l *connlimitList) remove(i int) {
	l.conns = append(l.conns[:i], l.conns[i+1:]...)
	l.conns[len(l.conns) : len(l.conns)+1][0] = connlimitConn{}
}
