package filter

import (
	"sync"
	"testing"
)

func TestQuotaExhaustsOnTheFirstPacketThatDoesNotFit(t *testing.T) {
	m := &QuotaMatch{Quota: 100}
	// 40-byte packets (a 20-byte IP header and 20 of payload for UDP).
	small := matchCtx(matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 12}.decode(t))
	big := matchCtx(matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 52}.decode(t))
	for i, tt := range []struct {
		c    *Context
		want bool
		left uint64
	}{
		{small, true, 60}, {small, true, 20}, {big, false, 0}, {small, false, 0},
	} {
		if got := m.Match(tt.c); got != tt.want || m.Remaining() != tt.left {
			t.Errorf("packet %d: match %v with %d left, want %v with %d", i, got, m.Remaining(), tt.want, tt.left)
		}
	}
}

func TestQuotaIsExactUnderConcurrency(t *testing.T) {
	m := &QuotaMatch{Quota: 40 * 1000}
	p := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 12}.decode(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	matched := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := matchCtx(p)
			n := 0
			for range 500 {
				if m.Match(c) {
					n++
				}
			}
			mu.Lock()
			matched += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if matched != 1000 {
		t.Errorf("%d packets of 40 bytes matched a 40000-byte quota, want 1000", matched)
	}
}

// TestTCPMSSWalksOptionsAsTheKernel: the MSS option is found past an
// end-of-list option, as xt_tcpmss walks; no option matches only
// inverted; a malformed length does not hang.
func TestTCPMSSWalksOptionsAsTheKernel(t *testing.T) {
	m := &TCPMSSMatch{Min: 1000, Max: 1460}
	inv := &TCPMSSMatch{Min: 1000, Max: 1460, Invert: true}
	for _, tt := range []struct {
		name      string
		opts      []byte
		want, inv bool
	}{
		{"mss 1200", []byte{2, 4, 0x04, 0xb0}, true, false},
		{"mss 1500", []byte{2, 4, 0x05, 0xdc}, false, true},
		{"nop nop mss 1200", []byte{1, 1, 2, 4, 0x04, 0xb0}, true, false},
		{"end then mss 1200", []byte{0, 2, 4, 0x04, 0xb0}, true, false},
		{"no options", nil, false, true},
		{"zero length", []byte{8, 0, 2, 4, 0x04, 0xb0}, true, false},
		{"mss of length 3", []byte{2, 3, 0x04, 0xb0}, false, true},
	} {
		c := matchCtx(matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1, dport: 2, flags: 2, tcpOpts: tt.opts}.decode(t))
		if got := m.Match(c); got != tt.want || c.HotDrop {
			t.Errorf("%s: match %v (hotdrop %v), want %v", tt.name, got, c.HotDrop, tt.want)
		}
		if got := inv.Match(c); got != tt.inv {
			t.Errorf("%s: inverted match %v, want %v", tt.name, got, tt.inv)
		}
	}
}
