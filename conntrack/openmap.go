package conntrack

// openMap is a hash map for the NAT index: open addressing with linear
// probing over inline slots, and deletion by shifting the rest of a
// probe run back, so it never holds tombstones. A Go map under the NAT
// index's churn (every connection added and deleted once) keeps
// tombstones until it grows, and its lookups of absent tuples, the
// common case when NAT chooses a tuple, probe ever longer runs. The
// caller supplies each key's hash (h), already computed to pick the
// shard; it is kept in the slot, so that growing and deleting never
// hash again. Not safe for concurrent use: the NAT shard's lock guards
// it.
type openMap[K comparable, V any] struct {
	slots []openSlot[K, V]
	n     int
}

type openSlot[K comparable, V any] struct {
	h uint64 // the key's hash with bit 0 set; 0: empty
	k K
	v V
}

func openHash(h uint64) uint64 { return h | 1 }

// get returns the value stored under k, or nil.
func (m *openMap[K, V]) get(k *K, h uint64) *V {
	n := len(m.slots)
	if m.n == 0 {
		return nil
	}
	h = openHash(h)
	for i := pos(h>>8, n); ; i++ {
		if i == n {
			i = 0
		}
		s := &m.slots[i]
		if s.h == 0 {
			return nil
		}
		if s.h == h && s.k == *k {
			return &s.v
		}
	}
}

// put stores v under k, replacing what was there.
func (m *openMap[K, V]) put(k K, h uint64, v V) {
	if p := m.get(&k, h); p != nil {
		*p = v
		return
	}
	if (m.n+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	m.place(openSlot[K, V]{h: openHash(h), k: k, v: v})
	m.n++
}

func (m *openMap[K, V]) place(s openSlot[K, V]) {
	n := len(m.slots)
	i := pos(s.h>>8, n)
	for m.slots[i].h != 0 {
		if i++; i == n {
			i = 0
		}
	}
	m.slots[i] = s
}

// grow doubles the slots (at least 16), keeping the load at most 3/4.
func (m *openMap[K, V]) grow() {
	old := m.slots
	m.slots = make([]openSlot[K, V], max(16, 2*len(old)))
	for i := range old {
		if old[i].h != 0 {
			m.place(old[i])
		}
	}
}

// del deletes k, reporting whether it was there.
func (m *openMap[K, V]) del(k *K, h uint64) bool {
	n := len(m.slots)
	if m.n == 0 {
		return false
	}
	h = openHash(h)
	i := pos(h>>8, n)
	for {
		s := &m.slots[i]
		if s.h == 0 {
			return false
		}
		if s.h == h && s.k == *k {
			break
		}
		if i++; i == n {
			i = 0
		}
	}
	// Shift later members of the run back into the hole, each that
	// may live there (its home is not in (hole, j]).
	hole := i
	for j := hole + 1; ; j++ {
		if j == n {
			j = 0
		}
		s := &m.slots[j]
		if s.h == 0 {
			break
		}
		home := pos(s.h>>8, n)
		if (j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j) {
			m.slots[hole] = *s
			hole = j
		}
	}
	m.slots[hole] = openSlot[K, V]{}
	m.n--
	if m.n == 0 && len(m.slots) > 1024 {
		m.slots = nil // a table that emptied gives its memory back
	}
	return true
}

// len returns the number of keys stored.
func (m *openMap[K, V]) len() int { return m.n }
