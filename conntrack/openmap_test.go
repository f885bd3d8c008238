package conntrack

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// openMap behaves as a Go map through random puts and deletes, with
// hashes that collide often (so probe runs wrap and shift back).
func TestOpenMapMatchesGoMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m openMap[uint32, int]
	want := map[uint32]int{}
	hash := func(k uint32) uint64 { return uint64(k%61) << 8 * 0x9e3779b97f4a7c15 } // few homes
	for i := range 200000 {
		k := uint32(rng.IntN(3000))
		switch rng.IntN(3) {
		case 0, 1:
			m.put(k, hash(k), i)
			want[k] = i
		default:
			_, had := want[k]
			if got := m.del(&k, hash(k)); got != had {
				t.Fatalf("op %d: del(%d) = %v, want %v", i, k, got, had)
			}
			delete(want, k)
		}
		if m.len() != len(want) {
			t.Fatalf("op %d: len %d, want %d", i, m.len(), len(want))
		}
		if i%1000 == 0 {
			for k := range uint32(3000) {
				v, ok := want[k]
				p := m.get(&k, hash(k))
				if (p != nil) != ok || ok && *p != v {
					t.Fatalf("op %d: get(%d) = %v, want %d, %v", i, k, p, v, ok)
				}
			}
		}
	}
}

// Under churn the map keeps its size: deletes leave nothing behind.
func TestOpenMapChurnKeepsItsSize(t *testing.T) {
	var m openMap[uint64, struct{}]
	h := func(k uint64) uint64 { return xxh64Words(7, k, 0) }
	for k := range uint64(1000) {
		m.put(k, h(k), struct{}{})
	}
	size := len(m.hs)
	for k := range uint64(1_000_000) {
		old := k
		m.del(&old, h(old))
		m.put(k+1000, h(k+1000), struct{}{})
	}
	if len(m.hs) != size || m.len() != 1000 {
		t.Errorf("after a million replacements: %d slots for %d keys, want %d slots", len(m.hs), m.len(), size)
	}
}

// BenchmarkOpenMapLookup looks up reply tuples, in random order, in a
// NAT index's byReply map of n of them, present and absent (NAT's port
// search asks mostly for absent ones); at 262144 (nf_conntrack_max's
// default) the map is far larger than the caches.
func BenchmarkOpenMapLookup(b *testing.B) {
	key := func(i int) Tuple {
		tp := Tuple{Family: 4, Proto: 6, SrcPort: 8080, DstPort: uint16(i)}
		copy(tp.Src[:4], []byte{10, 244, 0, 1})
		copy(tp.Dst[:4], []byte{10, 244, byte(i >> 24), byte(i >> 16)})
		return tp
	}
	var x natIndex
	for _, n := range []int{32768, 262144} {
		var m openMap[Tuple, natRef]
		for i := range n {
			k := key(i * 2)
			m.put(k, x.replyHash(&k), natRef{})
		}
		for _, present := range []bool{true, false} {
			b.Run(fmt.Sprintf("entries=%d/present=%v", n, present), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				keys := make([]Tuple, 1<<16)
				hs := make([]uint64, len(keys))
				for i := range keys {
					j := rng.IntN(n) * 2
					if !present {
						j++
					}
					keys[i] = key(j)
					hs[i] = x.replyHash(&keys[i])
				}
				i := 0
				for b.Loop() {
					if (m.get(&keys[i], hs[i]) != nil) != present {
						b.Fatal("wrong answer")
					}
					i = (i + 1) & (len(keys) - 1)
				}
			})
		}
	}
}
