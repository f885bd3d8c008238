package conntrack

// storeKind says which of a shard's four stores holds a connection: by
// family, and whether it carries TCP tracking state.
type storeKind uint8

const (
	kind4   storeKind = 0
	kind6   storeKind = 2
	kindTCP storeKind = 1
)

// find looks the probe's tuple up in its store.
func (s *shard) find(pr *probe) (uint32, Dir, bool) {
	switch pr.kind {
	case kind4:
		return s.v4.find(&pr.k4, pr.h)
	case kind4 | kindTCP:
		return s.v4t.find(&pr.k4, pr.h)
	case kind6:
		return s.v6.find(&pr.k6, pr.h)
	}
	return s.v6t.find(&pr.k6, pr.h)
}

// conn returns a stored connection's state, its TCP state (nil outside
// the TCP stores) and its creation tick (0 in the TCP stores).
func (s *shard) conn(kind storeKind, slot uint32) (*connState, *tcpTrack, uint32) {
	switch kind {
	case kind4:
		e := s.v4.at(slot)
		return &e.connState, nil, e.x.born
	case kind4 | kindTCP:
		e := s.v4t.at(slot)
		return &e.connState, &e.x, 0
	case kind6:
		e := s.v6.at(slot)
		return &e.connState, nil, e.x.born
	}
	e := s.v6t.at(slot)
	return &e.connState, &e.x, 0
}

// add stores e under the probe's key.
func (s *shard) add(pr *probe, e *entry) uint32 {
	var slot uint32
	switch pr.kind {
	case kind4:
		slot = s.v4.add(pr.k4, e.connState, otherTrack{e.born}, pr.h)
	case kind4 | kindTCP:
		slot = s.v4t.add(pr.k4, e.connState, e.tcp, pr.h)
	case kind6:
		slot = s.v6.add(pr.k6, e.connState, otherTrack{e.born}, pr.h)
	default:
		slot = s.v6t.add(pr.k6, e.connState, e.tcp, pr.h)
	}
	s.setExt(pr.kind, slot, e.ext)
	return slot
}

// remove deletes a stored connection.
func (s *shard) remove(kind storeKind, slot uint32) {
	s.exts.del(extKey(kind, slot))
	if k := extKey(kind, slot); s.replies.len() > 0 {
		s.replies.del(&k, keyHash(k))
	}
	switch kind {
	case kind4:
		s.v4.remove(slot)
	case kind4 | kindTCP:
		s.v4t.remove(slot)
	case kind6:
		s.v6.remove(slot)
	default:
		s.v6t.remove(slot)
	}
}

// origTuple returns a stored connection's original tuple.
func (s *shard) origTuple(kind storeKind, slot uint32) Tuple {
	switch kind {
	case kind4:
		return s.v4.at(slot).key.tuple()
	case kind4 | kindTCP:
		return s.v4t.at(slot).key.tuple()
	case kind6:
		return s.v6.at(slot).key.tuple()
	}
	return s.v6t.at(slot).key.tuple()
}

// origTupleInto writes a stored connection's original tuple in place.
func (s *shard) origTupleInto(t *Tuple, kind storeKind, slot uint32) {
	switch kind {
	case kind4:
		s.v4.at(slot).key.tupleInto(t)
	case kind4 | kindTCP:
		s.v4t.at(slot).key.tupleInto(t)
	case kind6:
		s.v6.at(slot).key.tupleInto(t)
	default:
		s.v6t.at(slot).key.tupleInto(t)
	}
}

// materialize returns the full entry of a stored connection.
func (s *shard) materialize(kind storeKind, slot uint32, now int64) entry {
	var e entry
	c, tcp, born := s.conn(kind, slot)
	e.connState, e.born = *c, born
	if tcp != nil {
		e.tcp = *tcp
	}
	e.ext = s.ext(kind, slot)
	e.tuple[Original] = s.origTuple(kind, slot)
	if reply, ok := s.natReply(kind, slot); ok {
		e.tuple[Reply] = reply
	} else {
		e.tuple[Reply], _ = e.tuple[Original].Invert()
	}
	e.started = now
	if tcp == nil {
		e.started = now - int64(age(born, now))
	}
	return e
}

// each calls fn for every stored connection; fn may remove the one it is
// given. s.mu must be held.
func (s *shard) each(fn func(kind storeKind, slot uint32, c *connState)) {
	eachIn(&s.v4, kind4, fn)
	eachIn(&s.v4t, kind4|kindTCP, fn)
	eachIn(&s.v6, kind6, fn)
	eachIn(&s.v6t, kind6|kindTCP, fn)
}

func eachIn[K keyType, X trackType](st *store[K, X], kind storeKind, fn func(storeKind, uint32, *connState)) {
	for ci, ch := range st.chunks {
		for i := range ch {
			if c := &ch[i].connState; c.live() {
				fn(kind, uint32(ci<<chunkBits|i), c)
			}
		}
	}
}

// stillThere returns the connection a ref names if its slot still holds
// it. The ref's shard must be locked.
func (s *shard) stillThere(rf *ref, natOther *Tuple) (*connState, bool) {
	var ok bool
	switch rf.kind {
	case kind4:
		ok = s.v4.has(rf.slot)
	case kind4 | kindTCP:
		ok = s.v4t.has(rf.slot)
	case kind6:
		ok = s.v6.has(rf.slot)
	default:
		ok = s.v6t.has(rf.slot)
	}
	if !ok {
		return nil, false
	}
	c, _, _ := s.conn(rf.kind, rf.slot)
	orig := rf.tuple
	if rf.dir == Reply {
		if rf.natted {
			orig = *natOther
		} else {
			orig, _ = rf.tuple.Invert()
		}
	}
	if !c.live() || s.origTuple(rf.kind, rf.slot) != orig {
		return nil, false
	}
	return c, true
}

// natReply returns the reply tuple NAT gave the connection in slot, if
// it changed it. s.mu must be held.
func (s *shard) natReply(kind storeKind, slot uint32) (Tuple, bool) {
	if t := s.natReplyAt(kind, slot); t != nil {
		return *t, true
	}
	return Tuple{}, false
}

// natReplyAt is natReply in place: the tuple stays valid while s.mu is
// held and the connection stays. The hot path copies it once, not
// twice.
func (s *shard) natReplyAt(kind storeKind, slot uint32) *Tuple {
	k := extKey(kind, slot)
	return s.replies.get(&k, keyHash(k))
}

// setNATReply records the reply tuple NAT gave the connection in slot.
// s.mu must be held.
func (s *shard) setNATReply(kind storeKind, slot uint32, reply Tuple) {
	k := extKey(kind, slot)
	s.replies.put(k, keyHash(k), reply)
}
