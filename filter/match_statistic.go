package filter

import (
	"math/rand/v2"
	"sync/atomic"
)

// StatisticMode is -m statistic --mode.
type StatisticMode uint8

// The statistic modes (XT_STATISTIC_MODE_*).
const (
	StatisticRandom StatisticMode = iota
	StatisticNth
)

// StatisticMatch is -m statistic (xt_statistic.c).
type StatisticMatch struct {
	// Mode is --mode random or nth.
	Mode StatisticMode
	// Invert is the '!' of --probability or --every.
	Invert bool
	// Probability is --probability scaled to 2^31 (0x80000000 is 1.0), as
	// the kernel stores it.
	Probability uint32
	// Every and Packet are --every n and --packet p: the match fires for
	// every nth packet, starting with the (p+1)th.
	Every, Packet uint32

	count atomic.Uint64
}

// Name returns "statistic".
func (*StatisticMatch) Name() string { return "statistic" }

// Match draws a random number (random mode) or counts packets (nth mode).
// The kernel keeps a counter that iptables starts at n-1-p and that wraps
// after n-1, and matches when it wraps to 0: the kth packet (from 1)
// matches when k-1-p is a multiple of n, which one atomic add computes
// without a lock.
func (m *StatisticMatch) Match(*Context) bool {
	var hit bool
	switch m.Mode {
	case StatisticRandom:
		hit = rand.Uint32()&0x7FFFFFFF < m.Probability
	default:
		k := m.count.Add(1)
		n := uint64(m.Every)
		hit = n != 0 && (k-1+n-uint64(m.Packet)%n)%n == 0
	}
	return hit != m.Invert
}
