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
	// hs holds each slot's hash, with bit 0 set (0: empty), apart from
	// the keys and values so that a probe run is read from a few cache
	// lines of hashes and only a matching hash's slot is touched: most
	// of NAT's lookups are of tuples no connection has.
	hs    []uint64
	slots []openSlot[K, V]
	n     int
}

type openSlot[K comparable, V any] struct {
	k K
	v V
}

func openHash(h uint64) uint64 { return h | 1 }

// get returns the value stored under k, or nil.
func (m *openMap[K, V]) get(k *K, h uint64) *V {
	if m.n == 0 {
		return nil
	}
	h = openHash(h)
	hs := m.hs
	for i := pos(h>>8, len(hs)); ; i++ {
		if i == len(hs) {
			i = 0
		}
		switch hs[i] {
		case 0:
			return nil
		case h:
			if s := &m.slots[i]; s.k == *k {
				return &s.v
			}
		}
	}
}

// put stores v under k, replacing what was there.
func (m *openMap[K, V]) put(k K, h uint64, v V) {
	if p := m.get(&k, h); p != nil {
		*p = v
		return
	}
	if (m.n+1)*4 > len(m.hs)*3 {
		m.grow()
	}
	m.place(openHash(h), openSlot[K, V]{k: k, v: v})
	m.n++
}

func (m *openMap[K, V]) place(h uint64, s openSlot[K, V]) {
	n := len(m.hs)
	i := pos(h>>8, n)
	for m.hs[i] != 0 {
		if i++; i == n {
			i = 0
		}
	}
	m.hs[i], m.slots[i] = h, s
}

// grow doubles the slots (at least 16), keeping the load at most 3/4.
func (m *openMap[K, V]) grow() {
	oldH, old := m.hs, m.slots
	size := max(16, 2*len(oldH))
	m.hs, m.slots = make([]uint64, size), make([]openSlot[K, V], size)
	for i, h := range oldH {
		if h != 0 {
			m.place(h, old[i])
		}
	}
}

// del deletes k, reporting whether it was there.
func (m *openMap[K, V]) del(k *K, h uint64) bool {
	n := len(m.hs)
	if m.n == 0 {
		return false
	}
	h = openHash(h)
	i := pos(h>>8, n)
	for {
		if m.hs[i] == 0 {
			return false
		}
		if m.hs[i] == h && m.slots[i].k == *k {
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
		hj := m.hs[j]
		if hj == 0 {
			break
		}
		home := pos(hj>>8, n)
		if (j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j) {
			m.hs[hole], m.slots[hole] = hj, m.slots[j]
			hole = j
		}
	}
	m.hs[hole], m.slots[hole] = 0, openSlot[K, V]{}
	m.n--
	if m.n == 0 && n > 1024 {
		m.hs, m.slots = nil, nil // a table that emptied gives its memory back
	}
	return true
}

// len returns the number of keys stored.
func (m *openMap[K, V]) len() int { return m.n }
