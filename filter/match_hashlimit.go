package filter

import (
	"errors"
	"net/netip"
	"sync"
)

// HashlimitMode is the set of header fields a hashlimit bucket is keyed
// on (XT_HASHLIMIT_HASH_*), plus the inversion bit.
type HashlimitMode uint32

// The hashlimit mode bits, with xt_hashlimit's values.
const (
	HashDstIP   HashlimitMode = 1 << 0
	HashDstPort HashlimitMode = 1 << 1
	HashSrcIP   HashlimitMode = 1 << 2
	HashSrcPort HashlimitMode = 1 << 3
	// HashlimitAbove is XT_HASHLIMIT_INVERT: --hashlimit-above, match
	// the packets over the limit.
	HashlimitAbove HashlimitMode = 1 << 4
	// HashlimitBytes is XT_HASHLIMIT_BYTES: the rate is in bytes (a
	// "512kb/s" rate), Avg the cost of 16 bytes and Burst how many times
	// an empty bucket may be refilled at once.
	HashlimitBytes HashlimitMode = 1 << 5
	// HashlimitRateMatch is XT_HASHLIMIT_RATE_MATCH
	// (--hashlimit-rate-match): instead of a token bucket, count each
	// flow's packets (or bytes) over windows of Interval seconds; a flow
	// is under the limit while its count in the current window stays
	// within the burst and the previous window's rate did not exceed
	// the limit.
	HashlimitRateMatch HashlimitMode = 1 << 6
)

// hashlimitCPJBytes and hashlimitBytesCap are CREDITS_PER_JIFFY_BYTES
// and the byte bucket's size, CREDITS_PER_JIFFY_BYTES*HZ: 2^22 credits a
// jiffy at nfgo's HZ of 1000; the product is the same at the kernel's
// other HZ values.
const (
	hashlimitCPJBytes = 1 << 22
	hashlimitBytesCap = hashlimitCPJBytes * limitHZ
)

// hashlimitUserToBytesCredits is user2credits_byte.
func hashlimitUserToBytesCredits(avg uint64) uint64 {
	return uint64(uint32((uint64(uint32(avg)) * hashlimitBytesCap) >> 32))
}

// HashlimitScale is XT_HASHLIMIT_SCALE_v2: Avg counts in microseconds.
const HashlimitScale = 1000000

// hashlimitCredit is user2credits' constant factor for revision 2 and
// later, HZ*CREDITS_PER_JIFFY/XT_HASHLIMIT_SCALE_v2, where
// CREDITS_PER_JIFFY is the largest power of two below
// 2^64/(HZ*60*60*24). With HZ=1000 (nfgo's jiffy is a millisecond) that is
// 2^37*1000/10^6; other HZ values give the same product, so the overflow
// check below refuses the same rules as the kernel.
const (
	hashlimitCPJ    = 1 << 37
	hashlimitCredit = limitHZ * hashlimitCPJ / HashlimitScale
)

// hashlimitDefaultSize is the bucket count the kernel picks when
// --hashlimit-htable-size is not given, on a machine with more than 1 GiB
// of memory.
const hashlimitDefaultSize = 8192

// HashlimitMatch is -m hashlimit (xt_hashlimit.c, revision 3, packet
// and byte rates): a token bucket per flow, where a flow is the packet's addresses
// (masked) and ports as Mode selects.
//
// Rules naming the same --hashlimit-name share one table, for their
// family, as in the kernel: the first rule to name it creates it with
// its parameters, which then hold for every rule sharing it (the key
// fields and masks, the rate and burst of a new flow, the size and the
// expiry); each rule keeps its own --hashlimit-above. The table is a
// named object (Objects), bound when the ruleset is compiled, so it
// keeps its flows across a ruleset replacement that keeps a rule naming
// it. Entries idle for longer than Expire milliseconds are dropped when
// next looked at, rather than by a garbage collector every GCInterval
// milliseconds, so an entry may be forgotten up to GCInterval earlier
// than in the kernel. A new flow allocates its entry; packets of known
// flows do not allocate.
type HashlimitMatch struct {
	// TableName is --hashlimit-name.
	TableName string
	// Mode selects the key fields and HashlimitAbove.
	Mode HashlimitMode
	// Avg is the mean interval between packets in 1/HashlimitScale s.
	Avg uint64
	// Burst is --hashlimit-burst.
	Burst uint64
	// Size, Max, GCInterval and Expire are --hashlimit-htable-size,
	// -max, -gcinterval and -expire (milliseconds). Size and Max 0 mean
	// the kernel's defaults.
	Size, Max, GCInterval, Expire uint32
	// SrcMask and DstMask are the prefix lengths applied to the
	// addresses before they are used as keys.
	SrcMask, DstMask uint8
	// Interval is --hashlimit-rate-interval, the window of
	// HashlimitRateMatch in seconds.
	Interval uint32

	// table is the table Bind found or made; nil until the match is
	// bound, when it never matches.
	table *hashlimitTable
}

// hashlimitTable is one named table of flows (struct
// xt_hashlimit_htable): cfg is the parameters of the rule that created
// it. mu guards entries.
type hashlimitTable struct {
	cfg     HashlimitMatch
	mu      sync.Mutex
	entries map[hashlimitKey]*hashlimitEntry
}

// Bind finds the table the match names for the ruleset's family, or
// creates it with the match's parameters (htable_find_get,
// htable_create), and returns the match bound to it.
func (m *HashlimitMatch) Bind(b *Binding) (any, error) {
	t := BindObject(b, "hashlimit", m.TableName, func() *hashlimitTable {
		cfg := *m
		cfg.table = nil
		return &hashlimitTable{cfg: cfg}
	})
	bound := *m
	bound.table = t
	return &bound, nil
}

type hashlimitKey struct {
	src, dst     [16]byte
	sport, dport uint16
}

type hashlimitEntry struct {
	expires int64 // jiffies
	prev    int64
	credit  uint64
	cap     uint64
	cost    uint64
	// The rate-match state: the limit a second, the burst, the window
	// in jiffies, the count in the current window and whether the last
	// window was over the limit.
	rate, burst, window, current uint64
	prevWindow                   bool
}

// Name returns "hashlimit".
func (*HashlimitMatch) Name() string { return "hashlimit" }

// Match finds or creates the flow's bucket, refills it for the time since
// its last packet, and takes the packet's cost if it can
// (hashlimit_mt_common). It reports "under the limit", or "over the
// limit" for --hashlimit-above. Like the kernel it drops the packet
// (HotDrop) when it cannot key it (a later fragment, for a table keyed
// on ports) or a new flow finds the table full.
func (m *HashlimitMatch) Match(c *Context) bool {
	t := m.table
	if t == nil {
		return false
	}
	cfg := &t.cfg
	key, ok := cfg.key(c)
	if !ok {
		c.HotDrop = true
		return false
	}
	now := jiffies(c.Now)
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e != nil && now > e.expires {
		delete(t.entries, key)
		e = nil
	}
	if e == nil {
		if t.entries == nil {
			t.entries = make(map[hashlimitKey]*hashlimitEntry)
		}
		if len(t.entries) >= cfg.maxEntries() {
			t.expire(now)
			if len(t.entries) >= cfg.maxEntries() {
				c.HotDrop = true
				return false
			}
		}
		e = &hashlimitEntry{prev: now}
		if cfg.Mode&HashlimitRateMatch != 0 {
			cfg.initRateMatch(e)
		} else if cfg.Mode&HashlimitBytes != 0 {
			e.credit = hashlimitBytesCap
			e.cost = hashlimitUserToBytesCredits(cfg.Avg)
			e.cap = cfg.Burst
		} else {
			e.cap = cfg.Avg * cfg.Burst * hashlimitCredit
			e.credit = e.cap
			e.cost = cfg.Avg * hashlimitCredit
		}
		t.entries[key] = e
	} else if d := now - e.prev; d > 0 && cfg.Mode&HashlimitRateMatch != 0 {
		// rateinfo_recalc for revision 3's rate match: close the window
		// once it has lasted Interval seconds.
		if uint64(d) >= e.window {
			e.prev = now
			e.prevWindow = e.current*e.window > uint64(d)*e.rate
			e.current = 0
		}
	} else if d > 0 && cfg.Mode&HashlimitBytes != 0 {
		e.prev = now
		old := e.credit
		e.credit += uint64(d) * hashlimitCPJBytes
		if old >= e.credit || e.credit > hashlimitBytesCap {
			e.credit = hashlimitBytesCap
		}
	} else if d > 0 {
		e.prev = now
		add := uint64(d) * hashlimitCPJ
		if add/hashlimitCPJ != uint64(d) || e.credit+add < e.credit {
			e.credit = e.cap
		} else {
			e.credit += add
		}
		if e.credit > e.cap {
			e.credit = e.cap
		}
	}
	e.expires = now + int64(cfg.Expire)*limitHZ/1000
	above := m.Mode&HashlimitAbove != 0
	if cfg.Mode&HashlimitRateMatch != 0 {
		if m.Mode&HashlimitBytes != 0 {
			e.current += uint64(c.Packet.WireLength)
		} else {
			e.current++
		}
		if !e.prevWindow && e.current <= e.burst {
			return !above
		}
		return above
	}
	cost := e.cost
	if cfg.Mode&HashlimitBytes != 0 {
		// hashlimit_byte_cost: the packet's 16-byte chunks, at most a
		// full bucket; an empty bucket is refilled while the burst lasts.
		cost = min((uint64(c.Packet.WireLength)>>4+1)*e.cost, hashlimitBytesCap)
		if e.credit < cost && e.cap > 0 {
			e.cap--
			e.credit = hashlimitBytesCap
		}
	}
	if e.credit >= cost {
		e.credit -= cost
		return !above
	}
	return above
}

// initRateMatch is rateinfo_init for a rate-match table: the rate a
// second (user2rate, or user2rate_bytes for a byte rate) and the burst
// above which a window is over the limit.
func (m *HashlimitMatch) initRateMatch(e *hashlimitEntry) {
	if m.Mode&HashlimitBytes != 0 {
		r := uint64(1<<32 - 1)
		if a := uint32(m.Avg); a != 0 {
			r /= uint64(a)
		}
		e.rate = (r - 1) << 4
		e.burst = e.rate
		if m.Burst != 0 {
			e.burst = m.Burst * e.rate
		}
	} else {
		if m.Avg != 0 {
			e.rate = HashlimitScale / m.Avg
		}
		e.burst = m.Burst + e.rate
	}
	e.window = uint64(m.Interval) * limitHZ
}

// maxEntries is htable_create's default: 8 times the bucket count, and
// never fewer entries than buckets.
func (m *HashlimitMatch) maxEntries() int {
	size := int(m.Size)
	if size == 0 {
		size = hashlimitDefaultSize
	}
	switch {
	case m.Max == 0:
		return 8 * size
	case int(m.Max) < size:
		return size
	}
	return int(m.Max)
}

// expire drops the entries that have timed out, as htable_gc does.
// t.mu must be held.
func (t *hashlimitTable) expire(now int64) {
	for k, e := range t.entries {
		if now > e.expires {
			delete(t.entries, k)
		}
	}
}

// key builds the flow key (hashlimit_init_dst). Ports come from the L4
// header of any protocol that has them; other protocols key as port 0.
func (m *HashlimitMatch) key(c *Context) (hashlimitKey, bool) {
	var k hashlimitKey
	p := c.Packet
	if m.Mode&HashSrcIP != 0 {
		k.src = maskedAddr(p.Src(), m.SrcMask)
	}
	if m.Mode&HashDstIP != 0 {
		k.dst = maskedAddr(p.Dst(), m.DstMask)
	}
	if m.Mode&(HashSrcPort|HashDstPort) != 0 {
		if p.FragOffset != 0 {
			// Later fragments have no ports: the kernel cannot
			// read them and drops the packet.
			return k, false
		}
		if m.Mode&HashSrcPort != 0 {
			k.sport = p.SrcPort
		}
		if m.Mode&HashDstPort != 0 {
			k.dport = p.DstPort
		}
	}
	return k, true
}

func maskedAddr(a netip.Addr, bits uint8) [16]byte {
	var out [16]byte
	if !a.IsValid() {
		return out
	}
	if a.Is4() {
		b := a.As4()
		copy(out[:], b[:])
	} else {
		out = a.As16()
	}
	for i := range out {
		switch n := int(bits) - 8*i; {
		case n <= 0:
			out[i] = 0
		case n < 8:
			out[i] &= 0xFF << (8 - n)
		}
	}
	return out
}

// CheckRule refuses what hashlimit_mt_check_common refuses: a zero
// expire or gc interval, masks wider than the family's addresses (checked
// by the parser, which knows the family), and a rate whose burst credit
// overflows 64 bits ("overflow, try lower", ERANGE).
func (m *HashlimitMatch) CheckRule(_ *Rule, _ Site) error {
	if m.GCInterval == 0 || m.Expire == 0 {
		return errHashlimitZero
	}
	if m.Mode&HashlimitRateMatch != 0 {
		if m.Avg == 0 || m.Avg > 1<<32-1 {
			return errHashlimitRate
		}
		if m.Interval == 0 {
			return errHashlimitInterval
		}
		return nil
	}
	if m.Mode&HashlimitBytes != 0 {
		if hashlimitUserToBytesCredits(m.Avg) == 0 {
			return errHashlimitOverflow
		}
		return nil
	}
	if m.Burst == 0 || m.Avg*m.Burst*hashlimitCredit < m.Avg*hashlimitCredit {
		return errHashlimitOverflow
	}
	return nil
}

var (
	errHashlimitZero     = errors.New("--hashlimit-htable-expire and --hashlimit-htable-gcinterval must not be 0")
	errHashlimitOverflow = errors.New("overflow, try lower (numerical result out of range)")
	errHashlimitRate     = errors.New("invalid rate (numerical result out of range)")
	errHashlimitInterval = errors.New("invalid interval")
)
