package filter

import (
	"sync"
	"time"
)

// LimitScale is XT_LIMIT_SCALE: LimitMatch.Avg counts in 1/10000 s.
const LimitScale = 10000

// The kernel's token-bucket units (xt_limit.c). nfgo models HZ=1000, one
// jiffy per millisecond of Context.Now; CREDITS_PER_JIFFY is the largest
// power of two below 0xFFFFFFFF/(HZ*60*60*24) = 49, so a day's worth of
// credit still fits in 32 bits.
const (
	limitHZ              = 1000
	limitCreditsPerJiffy = 32
)

// LimitMatch is -m limit (xt_limit.c): a token bucket that lets Burst
// packets through at once and then one every Avg/LimitScale seconds.
//
// The bucket is per rule and safe for concurrent use; its clock is
// Context.Now, so tests drive it with a fake time. It starts full at the
// first packet (the kernel fills it when the rule is loaded, which is the
// same thing for the first packet).
type LimitMatch struct {
	// Avg is the mean interval between packets, in 1/LimitScale seconds
	// (--limit 3/hour is 10000*3600/3).
	Avg uint32
	// Burst is --limit-burst, the bucket size in packets.
	Burst uint32

	mu      sync.Mutex
	started bool
	prev    int64 // jiffies of the last packet
	credit  uint64
	cap     uint64
	cost    uint64
}

// Name returns "limit".
func (*LimitMatch) Name() string { return "limit" }

// limitUser2Credits is user2credits: it avoids overflowing 32 bits by
// dividing first when the product would not fit.
// nfgo computes it in 64 bits, so that a large Avg*Burst (which the
// kernel's checkentry refuses as "Overflow, try lower", but which
// iptables-nft accepts) gives a large bucket rather than a wrapped one.
func limitUser2Credits(user uint64) uint64 {
	if user > 0xFFFFFFFF/(limitHZ*limitCreditsPerJiffy) {
		return (user / LimitScale) * limitHZ * limitCreditsPerJiffy
	}
	return (user * limitHZ * limitCreditsPerJiffy) / LimitScale
}

// Match takes one packet's cost from the bucket if it holds enough,
// after adding CREDITS_PER_JIFFY for every jiffy since the last packet
// (limit_mt). The kernel's credit is a u32 that can wrap after about 37
// idle hours; nfgo adds in 64 bits and caps, so a long pause just refills
// the bucket.
func (m *LimitMatch) Match(c *Context) bool {
	now := jiffies(c.Now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		m.started = true
		m.prev = now
		m.cap = limitUser2Credits(uint64(m.Avg) * uint64(m.Burst))
		m.credit = m.cap
		m.cost = limitUser2Credits(uint64(m.Avg))
	}
	if d := now - m.prev; d > 0 {
		m.credit += uint64(d) * limitCreditsPerJiffy
	}
	m.prev = now
	if m.credit > m.cap {
		m.credit = m.cap
	}
	if m.credit >= m.cost {
		m.credit -= m.cost
		return true
	}
	return false
}

func jiffies(t time.Time) int64 { return t.UnixMilli() * limitHZ / 1000 }
