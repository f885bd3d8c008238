package daemon

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/nfgo/nfgo"
)

// In the each-hook layout the kernel queues a packet at every hook, and
// nothing in the messages says that the packet at FORWARD is the one that
// left PREROUTING a moment ago. The daemon recognises it by its bytes:
// what it handed back at one hook is what arrives at the next, except
// for what the kernel changes in between — the TTL or hop limit, which
// forwarding decrements, and the IPv4 header checksum with it. The
// packet's nfgo.Transit waits under that key until the next hook takes
// it; one not taken within transitMaxAge (the kernel dropped the packet
// between hooks) is given up.

// transitKey is a packet's identity between hooks: its IP header without
// TTL and checksum, and the start of its L4 header.
type transitKey struct {
	ip [40]byte
	l4 [20]byte
}

// keyOf returns the transit key of an IP packet.
func keyOf(b []byte) (transitKey, bool) {
	var k transitKey
	var ihl int
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		ihl = int(b[0]&0xf) * 4
		if ihl < 20 || ihl > len(b) {
			return k, false
		}
		copy(k.ip[:20], b)
		k.ip[8], k.ip[10], k.ip[11] = 0, 0, 0
	case len(b) >= 40 && b[0]>>4 == 6:
		ihl = 40
		copy(k.ip[:40], b)
		k.ip[7] = 0
	default:
		return k, false
	}
	copy(k.l4[:], b[ihl:])
	return k, true
}

const transitShards = 16

// transitMaxAge bounds how long a packet may take from one hook to the
// next, in ns.
const transitMaxAge = int64(2e9)

// transits are the packets between hooks.
type transits struct {
	pool   sync.Pool
	shards [transitShards]transitShard
}

type transitShard struct {
	mu sync.Mutex
	m  map[transitKey]transitEntry
	_  [64]byte
}

type transitEntry struct {
	t  *nfgo.Transit
	at int64
}

func (ts *transits) shard(k *transitKey) *transitShard {
	h := binary.LittleEndian.Uint64(k.ip[12:]) ^ binary.LittleEndian.Uint64(k.ip[4:])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(k.l4[:])
	return &ts.shards[(h^h>>29)%transitShards]
}

// take removes and returns the transit waiting under k, or a fresh one.
func (ts *transits) take(k *transitKey) *nfgo.Transit {
	sh := ts.shard(k)
	sh.mu.Lock()
	e, ok := sh.m[*k]
	if ok {
		delete(sh.m, *k)
	}
	sh.mu.Unlock()
	if ok {
		return e.t
	}
	if t, _ := ts.pool.Get().(*nfgo.Transit); t != nil {
		return t
	}
	return new(nfgo.Transit)
}

// put leaves t under k for the packet's next hook. A transit already
// there (a retransmission with identical bytes) is returned to be given
// up.
func (ts *transits) put(k *transitKey, t *nfgo.Transit, now int64) *nfgo.Transit {
	sh := ts.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = map[transitKey]transitEntry{}
	}
	old := sh.m[*k]
	sh.m[*k] = transitEntry{t: t, at: now}
	return old.t
}

// release returns a finished transit to the pool.
func (ts *transits) release(t *nfgo.Transit) {
	*t = nfgo.Transit{}
	ts.pool.Put(t)
}

// sweep gives up the transits older than transitMaxAge.
func (ts *transits) sweep(now int64, abandon func(*nfgo.Transit)) int {
	n := 0
	for i := range ts.shards {
		sh := &ts.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if now-e.at > transitMaxAge {
				delete(sh.m, k)
				abandon(e.t)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// sentJudged are the packets the engine has already taken through
// OUTPUT and POSTROUTING itself (SYNPROXY's, filter.Effect.Routed) and
// the daemon injected. The kernel queues an injected packet again at
// OUTPUT (and POSTROUTING, in the each-hook layout); judging it twice
// would translate its sequence numbers and timestamps twice. Such a
// packet is recognised by its bytes, as a transit is, and accepted as it
// is for sentMaxAge after it was sent. n counts the entries, so that a
// daemon that never sent one pays one atomic load per packet.
type sentJudged struct {
	n      atomic.Int64
	shards [transitShards]sentShard
}

type sentShard struct {
	mu sync.Mutex
	m  map[transitKey]int64
	_  [64]byte
}

// sentMaxAge is how long an injected packet is recognised, in ns.
const sentMaxAge = int64(2e9)

func (sj *sentJudged) shard(k *transitKey) *sentShard {
	h := binary.LittleEndian.Uint64(k.ip[12:]) ^ binary.LittleEndian.Uint64(k.ip[4:])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(k.l4[:])
	return &sj.shards[(h^h>>29)%transitShards]
}

// add remembers packet b, sent at now.
func (sj *sentJudged) add(b []byte, now int64) {
	k, ok := keyOf(b)
	if !ok {
		return
	}
	sh := sj.shard(&k)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[transitKey]int64{}
	}
	if _, had := sh.m[k]; !had {
		sj.n.Add(1)
	}
	sh.m[k] = now
	sh.mu.Unlock()
}

// has reports whether b is a packet sent less than sentMaxAge ago.
func (sj *sentJudged) has(b []byte, now int64) bool {
	if sj.n.Load() == 0 {
		return false
	}
	k, ok := keyOf(b)
	if !ok {
		return false
	}
	sh := sj.shard(&k)
	sh.mu.Lock()
	at, found := sh.m[k]
	sh.mu.Unlock()
	return found && now-at <= sentMaxAge
}

// sweep forgets the packets sent more than sentMaxAge ago.
func (sj *sentJudged) sweep(now int64) {
	if sj.n.Load() == 0 {
		return
	}
	for i := range sj.shards {
		sh := &sj.shards[i]
		sh.mu.Lock()
		for k, at := range sh.m {
			if now-at > sentMaxAge {
				delete(sh.m, k)
				sj.n.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}
