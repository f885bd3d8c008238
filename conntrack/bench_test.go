package conntrack

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// flowPacket returns the UDP packet of flow i: source 10.x.y.z:port
// spread over i, to 198.51.100.1:53, with no UDP checksum (0 is "none"
// in IPv4) so the bytes can be patched freely.
func flowPacket(tmpl []byte, i int) []byte {
	b := append([]byte(nil), tmpl...)
	patchFlow(b, i)
	return b
}

// patchFlow turns a copy of the template into flow i's packet in place.
func patchFlow(b []byte, i int) {
	binary.BigEndian.PutUint32(b[12:], 0x0a000000|uint32(i>>8)&0xffffff)
	binary.BigEndian.PutUint16(b[20:], uint16(1024+i&0xff))
	if b[9] == 17 {
		b[26], b[27] = 0, 0 // no UDP checksum
	}
	testpkt.FixIPv4Checksum(b)
}

var (
	udpTemplate = testpkt.Build(testpkt.Spec{Src: a("10.0.0.1"), Dst: a("198.51.100.1"), Proto: "udp", SrcPort: 1024, DstPort: 53})
	synTemplate = testpkt.Build(testpkt.Spec{Src: a("10.0.0.1"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 1024, DstPort: 80, Flags: "S", Seq: 1})
)

// fill confirms n UDP flows.
func fill(tb testing.TB, t *Table, n int) { fillWith(tb, t, n, udpTemplate) }

// fillWith confirms n flows made from a template packet (checksums are
// not verified: flowPacket's patches leave TCP's wrong).
func fillWith(tb testing.TB, t *Table, n int, tmpl []byte) {
	var p packet.Packet
	var r Result
	for i := range n {
		p.Decode(flowPacket(tmpl, i))
		t.In(&r, &p, 0, t0, false)
		if !t.Confirm(&r) || r.State != New {
			tb.Fatalf("flow %d: %v %s", i, r.State, r.Reason)
		}
	}
}

// BenchmarkLookupExisting is conntrack-in for packets of existing flows
// (find, track, count) at 1k and 1M entries, against the baseline the
// issue sets: a bare map[Tuple]*T lookup of the same tuples, in the same
// run.
func BenchmarkLookupExisting(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		t := NewTable(Config{Max: 2 * n})
		fill(b, t, n)
		// The packets, as bytes, of k flows drawn at random: all of them
		// at 1k entries; at 1M, 64k of them, so that lookups miss the
		// cache as they would in a busy table. Each iteration decodes
		// one (about 8 ns, the engine's cost too) and runs conntrack-in.
		k := min(n, 1<<16)
		raw := make([][]byte, k)
		tuples := make([]Tuple, k)
		rng := rand.New(rand.NewPCG(1, 2))
		var p packet.Packet
		for j := range raw {
			raw[j] = flowPacket(udpTemplate, rng.IntN(n))
			p.Decode(raw[j])
			tuples[j], _ = TupleOf(&p, 0)
		}
		b.Run(fmt.Sprintf("entries=%d/conntrack", n), func(b *testing.B) {
			var r Result
			now := t0.Add(time.Second)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p.Decode(raw[i%k])
				t.In(&r, &p, 0, now, false)
				i++
			}
		})
		b.Run(fmt.Sprintf("entries=%d/map-baseline", n), func(b *testing.B) {
			type conn struct{ packets uint64 }
			m := make(map[Tuple]*conn, n)
			var p packet.Packet
			for i := range n {
				p.Decode(flowPacket(udpTemplate, i))
				tp, _ := TupleOf(&p, 0)
				m[tp] = &conn{}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m[tuples[i%k]].packets++
				i++
			}
		})
	}
}

// BenchmarkInsertNew is the cost of a new flow: conntrack-in for its
// first packet, then confirmation.
func BenchmarkInsertNew(b *testing.B) {
	t := NewTable(Config{Max: 1 << 30})
	const k = 1 << 20
	var p packet.Packet
	var r Result
	buf := make([]byte, len(udpTemplate))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		copy(buf, udpTemplate)
		patchFlow(buf, i%k)
		p.Decode(buf)
		t.In(&r, &p, 0, t0, false)
		t.Confirm(&r)
		i++
	}
}

// BenchmarkMemoryPerConnection reports the heap bytes a connection costs
// in a table of 1M IPv4 flows, UDP and TCP (whose entries also hold the
// TCP window-tracking state).
func BenchmarkMemoryPerConnection(b *testing.B) {
	const n = 1_000_000
	for _, flows := range []struct {
		name string
		tmpl []byte
	}{{"udp", udpTemplate}, {"tcp", synTemplate}} {
		b.Run(flows.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				t := NewTable(Config{Max: n})
				fillWith(b, t, n, flows.tmpl)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/conn")
				runtime.KeepAlive(t)
			}
		})
	}
}

// BenchmarkParallelLookup runs conntrack-in for existing flows from as
// many goroutines as GOMAXPROCS (2 here), to show how sharding scales;
// compare with BenchmarkLookupExisting/entries=1000000/conntrack.
func BenchmarkParallelLookup(b *testing.B) {
	const n = 1_000_000
	t := NewTable(Config{Max: 2 * n})
	fill(b, t, n)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		const k = 4096
		pkts := make([]packet.Packet, k)
		rng := rand.New(rand.NewPCG(rand.Uint64(), 3))
		for j := range pkts {
			pkts[j].Decode(flowPacket(udpTemplate, rng.IntN(n)))
		}
		var r Result
		now := t0.Add(time.Second)
		i := 0
		for pb.Next() {
			t.In(&r, &pkts[i%k], 0, now, false)
			i++
		}
	})
}

func TestLookupOfExistingFlowsDoesNotAllocate(t *testing.T) {
	tb := NewTable(Config{})
	fill(t, tb, 100)
	var p packet.Packet
	p.Decode(flowPacket(udpTemplate, 42))
	var r Result
	allocs := testing.AllocsPerRun(1000, func() {
		tb.In(&r, &p, 0, t0.Add(time.Second), true)
	})
	if allocs != 0 || r.State != New {
		t.Errorf("conntrack-in of an existing flow: %v allocations (state %v), want 0", allocs, r.State)
	}
}

// BenchmarkTableLookup is the table alone, the yardstick: find an
// existing flow by its tuple (either direction, under the shard's lock)
// and update it (refresh its timeout, count the packet), against a bare
// map[Tuple]*T lookup and update of the same tuples, in the same run.
func BenchmarkTableLookup(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		t := NewTable(Config{Max: 2 * n})
		fill(b, t, n)
		k := min(n, 1<<16)
		tuples := make([]Tuple, k)
		rng := rand.New(rand.NewPCG(1, 2))
		var p packet.Packet
		for j := range tuples {
			p.Decode(flowPacket(udpTemplate, rng.IntN(n)))
			tuples[j], _ = TupleOf(&p, 0)
		}
		b.Run(fmt.Sprintf("entries=%d/table", n), func(b *testing.B) {
			ns := t0.Add(time.Second).UnixNano()
			b.ReportAllocs()
			var loc located
			i := 0
			for b.Loop() {
				if t.locate(&loc, &tuples[i%k], ns) {
					loc.c.setTimeout(ns, 30*time.Second)
					loc.c.counters[loc.dir].add(64)
					loc.s.mu.Unlock()
				}
				i++
			}
		})
		// The yardstick, bare; then made safe for concurrent readers and
		// writers in the two least costly ways: one mutex around it, or
		// a sync.Map (reads take no lock) whose values are updated
		// atomically. They are what the yardstick costs once it must be
		// -race clean.
		type conn struct {
			deadline int64
			packets  uint64
			bytes    uint64
		}
		for _, locked := range []bool{false, true} {
			name := "map-baseline"
			if locked {
				name = "map-mutex-baseline"
			}
			b.Run(fmt.Sprintf("entries=%d/%s", n, name), func(b *testing.B) {
				var mu sync.Mutex
				m := make(map[Tuple]*conn, n)
				for i := range n {
					p.Decode(flowPacket(udpTemplate, i))
					tp, _ := TupleOf(&p, 0)
					m[tp] = &conn{}
				}
				ns := t0.Add(time.Second).UnixNano()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if locked {
						mu.Lock()
					}
					if c := m[tuples[i%k]]; c != nil {
						c.deadline = ns + int64(30*time.Second)
						c.packets++
						c.bytes += 64
					}
					if locked {
						mu.Unlock()
					}
					i++
				}
			})
		}
		b.Run(fmt.Sprintf("entries=%d/syncmap-atomic-baseline", n), func(b *testing.B) {
			type conn struct {
				deadline atomic.Int64
				packets  atomic.Uint64
				bytes    atomic.Uint64
			}
			var m sync.Map
			for i := range n {
				p.Decode(flowPacket(udpTemplate, i))
				tp, _ := TupleOf(&p, 0)
				m.Store(tp, &conn{})
			}
			ns := t0.Add(time.Second).UnixNano()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if v, ok := m.Load(tuples[i%k]); ok {
					c := v.(*conn)
					c.deadline.Store(ns + int64(30*time.Second))
					c.packets.Add(1)
					c.bytes.Add(64)
				}
				i++
			}
		})
	}
}
