package conntrack

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// confirmUDP tracks and confirms one packet of a UDP flow.
func confirmUDP(t testing.TB, tb *Table, src, dst string, sport, dport uint16, now time.Time) {
	t.Helper()
	var p packet.Packet
	var r Result
	p.Decode(testpkt.Build(udp(src, dst, sport, dport)))
	tb.In(&r, &p, 0, now, false)
	tb.Confirm(&r)
}

// readAll reads f in batches of at most batch events until it is empty.
func readAll(f *Feed, batch int) []Event {
	var all []Event
	buf := make([]Event, 0, batch)
	for {
		buf = f.Read(buf[:0])
		if len(buf) == 0 {
			return all
		}
		all = append(all, buf...)
	}
}

func TestFeedKeepsEachConnectionsEventsInOrder(t *testing.T) {
	tb := NewTable(Config{})
	f := tb.Feed(4096)
	defer f.Close()
	const flows = 300
	for i := range flows {
		confirmUDP(t, tb, "10.0.0.1", "10.0.0.2", uint16(1000+i), 53, t0)
	}
	for i := range flows {
		// The reply makes an UPDATE (SEEN_REPLY).
		confirmUDP(t, tb, "10.0.0.2", "10.0.0.1", 53, uint16(1000+i), t0.Add(time.Second))
	}
	tb.Collect(t0.Add(time.Hour), shardCount)

	// Small batches, so that Read goes round the shards many times.
	evs := readAll(f, 7)
	if got, want := len(evs), 3*flows; got != want {
		t.Fatalf("read %d events, want %d (NEW, UPDATE, DESTROY per flow)", got, want)
	}
	seen := map[Tuple][]EventType{}
	for _, ev := range evs {
		seen[ev.Conn.Orig] = append(seen[ev.Conn.Orig], ev.Type)
	}
	want := fmt.Sprint([]EventType{EventNew, EventUpdate, EventDestroy})
	for tp, types := range seen {
		if got := fmt.Sprint(types); got != want {
			t.Errorf("%v: events %s, want %s", tp, got, want)
		}
	}
	if len(seen) != flows {
		t.Errorf("events for %d connections, want %d", len(seen), flows)
	}
	if f.Lost() != 0 {
		t.Errorf("Lost() = %d, want 0", f.Lost())
	}
}

func TestFeedCountsWhatAFullRingDrops(t *testing.T) {
	tb := NewTable(Config{})
	// The smallest feed: 64 events a shard.
	f := tb.Feed(1)
	defer f.Close()
	// One flow's NEW, then its UPDATEs (a mark changing each time)
	// all go to its shard's ring.
	var p packet.Packet
	var r Result
	p.Decode(testpkt.Build(udp("10.0.0.1", "10.0.0.2", 1000, 53)))
	tb.In(&r, &p, 0, t0, false)
	tb.Confirm(&r)
	for i := range 99 {
		tb.SetMark(&r, uint32(i+1), t0)
	}
	evs := readAll(f, 256)
	if len(evs) != 64 || f.Lost() != 36 {
		t.Errorf("read %d events and lost %d, want 64 and 36", len(evs), f.Lost())
	}
	if len(evs) > 0 && (evs[0].Type != EventNew || evs[63].Conn.Mark != 63) {
		t.Errorf("first event %v, last mark %d: want the oldest 64 (NEW, then marks 1 to 63)", evs[0].Type, evs[63].Conn.Mark)
	}
	// Once read, the ring has room again.
	tb.SetMark(&r, 1000, t0)
	if evs := readAll(f, 8); len(evs) != 1 || evs[0].Conn.Mark != 1000 {
		t.Errorf("after reading: %d events, want the one new mark", len(evs))
	}
}

func TestFeedStopsAtClose(t *testing.T) {
	tb := NewTable(Config{})
	f := tb.Feed(64)
	confirmUDP(t, tb, "10.0.0.1", "10.0.0.2", 1000, 53, t0)
	f.Close()
	f.Close()
	confirmUDP(t, tb, "10.0.0.1", "10.0.0.2", 1001, 53, t0)
	if !f.Closed() {
		t.Error("Closed() = false after Close")
	}
	if evs := readAll(f, 8); len(evs) != 1 || evs[0].Conn.Orig.SrcPort != 1000 {
		t.Errorf("after Close: %d events, want the one from before it", len(evs))
	}
	if tb.ext.hooks.Load() != 0 {
		t.Errorf("the table still counts a subscriber after Close")
	}
}

func TestFeedAllocatesNothingPerPacket(t *testing.T) {
	tb := NewTable(Config{Max: 1 << 20})
	f := tb.Feed(1 << 16)
	defer f.Close()
	var p packet.Packet
	var r Result
	pkt := testpkt.Build(udp("10.0.0.1", "10.0.0.2", 1, 53))
	port := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		port++
		pkt[20], pkt[21] = byte(port>>8), byte(port)
		p.Decode(pkt)
		tb.In(&r, &p, 0, t0, false)
		tb.Confirm(&r)
	})
	if allocs != 0 {
		t.Errorf("a new flow with a feed open: %v allocations, want 0", allocs)
	}
	if evs := readAll(f, 256); len(evs) < 1000 {
		t.Errorf("read %d events, want at least 1000", len(evs))
	}
}

func TestFeedIsSafeForConcurrentUse(t *testing.T) {
	tb := NewTable(Config{})
	f := tb.Feed(1 << 14)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range 2000 {
				confirmUDP(t, tb, fmt.Sprintf("10.0.%d.1", g), "10.0.0.2", uint16(i), 53, t0)
			}
		})
	}
	read := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	buf := make([]Event, 0, 32)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		buf = f.Read(buf[:0])
		read += len(buf)
	}
	read += len(readAll(f, 32))
	f.Close()
	if got := uint64(read) + f.Lost(); got != 4000 {
		t.Errorf("read %d and lost %d events, want 4000 in all", read, f.Lost())
	}
}
