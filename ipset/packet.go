package ipset

import (
	"slices"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// SkbInfo is an element's skbinfo extension.
type SkbInfo = filter.SkbInfo

// LookupSet returns the set called name as rules use it, held (so that
// it cannot be destroyed) until the rule's program releases it: Sets is
// a filter.SetResolver.
func (ss *Sets) LookupSet(name string) (filter.IPSet, error) {
	r := ss.Ref(name)
	if r == nil {
		return nil, ErrNoSet
	}
	r.Hold()
	return &ruleSet{ref: r}, nil
}

// ruleSet is a set as one rule holds it: by its Ref, so that swap
// changes what the rule sees from the next packet on.
type ruleSet struct{ ref *Ref }

func (rs *ruleSet) Release() { rs.ref.Release() }

// Family returns the set's family, 0 for a set without addresses.
func (rs *ruleSet) Family() packet.Family { return rs.ref.Set().family() }

// packetKey builds the key the packet stands for in s, as the types'
// kadt functions do: each dimension takes the packet's source or
// destination as q says. ok is false when the packet cannot be an
// element: another family, a non-first fragment of a type with ports,
// no link header for a MAC.
func (s *Set) packetKey(c *filter.Context, q *filter.SetQuery, k *key, x *extra) bool {
	p := c.Packet
	if s.typ.addressed() && p.Family != s.opts.Family {
		return false
	}
	if q.Dim < len(s.typ.dims) {
		// ip_set_test: a rule giving fewer dimensions than the set has
		// never matches it.
		return false
	}
	addr := 0
	for i, d := range s.typ.dims {
		src := q.Src[i]
		switch d {
		case dimIP, dimNet:
			a := p.Dst()
			if src {
				a = p.Src()
			}
			if !a.IsValid() {
				return false
			}
			var ip [16]byte
			if p.Family == packet.IPv4 {
				a4 := a.As4()
				copy(ip[:], a4[:])
			} else {
				ip = a.As16()
			}
			if d == dimIP {
				s.setAddr(k, addr, mask(ip, s.ipPrefix()), 0)
			} else {
				s.setAddr(k, addr, ip, uint8(s.maxPrefix()))
			}
			addr++
		case dimPort:
			if !s.packetPort(p, src, k) {
				return false
			}
		case dimMAC:
			h := c.LinkHeader
			var m []byte
			switch {
			case len(h) >= 14 && src:
				m = h[6:12]
			case len(h) >= 14:
				m = h[0:6]
			case src && len(c.Origin.HWAddr) == 6:
				m = c.Origin.HWAddr
			default:
				return false
			}
			if s.typ.storage == bitmapStorage {
				// bitmap:ip,mac takes the source MAC only.
				if !src {
					return false
				}
				x.mac, x.hasMAC = [6]byte(m), true
			} else {
				k.mac = [6]byte(m)
			}
		case dimMark:
			k.mark = c.Mark & s.opts.markMask()
		case dimIface:
			name := c.Out
			if src {
				name = c.In
			}
			k.iface.n = uint8(copy(k.iface.name[:], name))
		}
	}
	return true
}

// packetPort fills in the protocol and port (ip_set_get_ip_port): the
// port of TCP, UDP, SCTP and UDP-Lite, ICMP's type and code, 0 for the
// rest; false for a non-first fragment, whose ports are not there, or
// for a type with ports where the packet has no transport header.
func (s *Set) packetPort(p *packet.Packet, src bool, k *key) bool {
	if s.typ.storage == bitmapStorage {
		// bitmap:port takes TCP, UDP, SCTP and UDP-Lite ports only.
		if !hasPorts(p.Proto) || p.L4Off == 0 {
			return false
		}
		k.port = p.DstPort
		if src {
			k.port = p.SrcPort
		}
		return true
	}
	if p.FragOffset != 0 {
		return false
	}
	k.proto = p.Proto
	switch {
	case hasPorts(p.Proto):
		if p.L4Off == 0 {
			return false
		}
		k.port = p.DstPort
		if src {
			k.port = p.SrcPort
		}
	case p.Proto == protoICMP && p.Family == packet.IPv4, p.Proto == protoICMPv6 && p.Family == packet.IPv6:
		if p.L4Off == 0 {
			return false
		}
		k.port = uint16(p.ICMPType)<<8 | uint16(p.ICMPCode)
	default:
		k.port = 0
	}
	return true
}

// findIface looks k up with interface wildcards: the exact name first,
// then each prefix of it that a wildcard element ("et" added with
// wildcard matches eth0) may be.
func (s *Set) findIface(k key, now int64) *entry {
	if e := s.find(k, now); e != nil {
		return e
	}
	if s.wildcards.Load() == 0 {
		return nil
	}
	full := k.iface
	for n := int(full.n); n >= 1; n-- {
		w := ifaceName{n: uint8(n), wildcard: true}
		copy(w.name[:], full.name[:n])
		k.iface = w
		if e := s.find(k, now); e != nil {
			return e
		}
	}
	return nil
}

// match finds the packet's element and applies the match's counter
// rules (ip_set_match_extensions): the element found is counted unless
// q says not to, then its counters are tested. It returns the element
// and whether it matches, nomatch and --return-nomatch applied.
func (s *Set) match(c *filter.Context, q *filter.SetQuery, noCount bool) (*entry, bool) {
	var k key
	var x extra
	if !s.packetKey(c, q, &k, &x) {
		return nil, false
	}
	now := c.Now.UnixNano()
	var e *entry
	if s.typ.has(dimIface) {
		e = s.findIface(k, now)
	} else {
		e = s.find(k, now)
	}
	if e == nil {
		return nil, false
	}
	if x.hasMAC && !s.macMatches(e, x.mac) {
		return nil, false
	}
	if s.opts.Counters {
		if !noCount {
			e.packets.Add(1)
			e.bytes.Add(uint64(c.Packet.WireLength))
		}
		if !q.Packets.Holds(e.packets.Load()) || !q.Bytes.Holds(e.bytes.Load()) {
			return e, false
		}
	}
	return e, e.nomatch == q.ReturnNomatch
}

// macMatches is bitmap:ip,mac's MAC check: an element without a MAC
// takes the first packet's; one with a MAC matches only it. The entry's
// MAC changes under its shard's lock.
func (s *Set) macMatches(e *entry, mac [6]byte) bool {
	sh := s.shardOf(&e.k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !e.hasMAC {
		e.mac, e.hasMAC = mac, true
		return true
	}
	return e.mac == mac
}

// Test looks the packet up (ip_set_test).
func (rs *ruleSet) Test(c *filter.Context, q *filter.SetQuery) bool {
	return rs.ref.Set().testPacket(c, q, q.NoCounters)
}

func (s *Set) testPacket(c *filter.Context, q *filter.SetQuery, noCount bool) bool {
	if s.typ.storage == listStorage {
		return s.testMembers(c, q, noCount)
	}
	_, ok := s.match(c, q, noCount)
	return ok
}

// liveMembers returns a list:set's members that have not expired at
// now, in order. The slice is never changed in place (see addMember),
// so it is read without the lock once loaded.
func (s *Set) liveMembers(now int64) []*entry {
	s.mu.Lock()
	members := s.members
	s.mu.Unlock()
	for i, m := range members {
		if !m.live(now) {
			// Rare: a copy only once an expired member is met.
			live := slices.Clone(members[:i])
			for _, m := range members[i+1:] {
				if m.live(now) {
					live = append(live, m)
				}
			}
			return live
		}
	}
	return members
}

// testMembers tries a list:set's members in order: the first that
// matches decides, and the list's own entry is counted.
func (s *Set) testMembers(c *filter.Context, q *filter.SetQuery, noCount bool) bool {
	for _, m := range s.liveMembers(c.Now.UnixNano()) {
		if !m.member.Set().testPacket(c, q, q.NoSubcounters) {
			continue
		}
		if s.opts.Counters {
			if !noCount {
				m.packets.Add(1)
				m.bytes.Add(uint64(c.Packet.WireLength))
			}
			if !q.Packets.Holds(m.packets.Load()) || !q.Bytes.Holds(m.bytes.Load()) {
				return false
			}
		}
		return true
	}
	return false
}

// Add adds the packet's element (-j SET --add-set): a full set or an
// element that is there (without exist) leaves the set as it is, as in
// the kernel, where the target ignores the error. A network type adds
// the packet's address with the most specific prefix length the set
// holds (the whole address if it is empty).
func (rs *ruleSet) Add(c *filter.Context, q *filter.SetQuery, timeout uint32, useDefault, exist bool) {
	rs.ref.Set().addPacket(c, q, timeout, useDefault, exist)
}

func (s *Set) addPacket(c *filter.Context, q *filter.SetQuery, timeout uint32, useDefault, exist bool) bool {
	now := c.Now.UnixNano()
	if s.typ.storage == listStorage {
		for _, m := range s.liveMembers(now) {
			if m.member.Set().addPacket(c, q, timeout, useDefault, exist) {
				return true
			}
		}
		return false
	}
	var k key
	var x extra
	if !s.packetKey(c, q, &k, &x) {
		return false
	}
	s.packetPrefixes(&k)
	if s.inRange(&k) != nil {
		return false
	}
	ext := Ext{HasTimeout: s.opts.HasTimeout && !useDefault, Timeout: timeout}
	e := s.newEntry(k, x, &ext, now)
	if exist {
		if old := s.lookup(&k, now); old != nil {
			e.packets.Store(old.packets.Load())
			e.bytes.Store(old.bytes.Load())
			e.comment, e.skb, e.nomatch = old.comment, old.skb, old.nomatch
			if !x.hasMAC {
				e.mac, e.hasMAC = old.mac, old.hasMAC
			}
		}
	}
	return s.addEntry(e, exist, now) == nil
}

// packetPrefixes gives a packet's key the prefix lengths an add or del
// from a packet uses: the set's most specific one in use, else the
// whole address (INIT_CIDR).
func (s *Set) packetPrefixes(k *key) {
	if s.typ.nets() == 0 {
		return
	}
	pick := func(d int) uint8 {
		if p := s.present[d].Load(); p != nil && len(*p) > 0 {
			return (*p)[0]
		}
		return uint8(s.maxPrefix())
	}
	addr := 0
	net := 0
	for _, d := range s.typ.dims {
		switch d {
		case dimIP:
			addr++
		case dimNet:
			c := pick(net)
			net++
			if addr == 0 {
				k.cidr = c
				k.ip = mask(k.ip, c)
			} else {
				k.cidr2 = c
				k.ip2 = mask(k.ip2, c)
			}
			addr++
		}
	}
}

// Del deletes the packet's element (--del-set).
func (rs *ruleSet) Del(c *filter.Context, q *filter.SetQuery) {
	rs.ref.Set().delPacket(c, q)
}

func (s *Set) delPacket(c *filter.Context, q *filter.SetQuery) bool {
	now := c.Now.UnixNano()
	if s.typ.storage == listStorage {
		for _, m := range s.liveMembers(now) {
			if m.member.Set().delPacket(c, q) {
				return true
			}
		}
		return false
	}
	var k key
	var x extra
	if !s.packetKey(c, q, &k, &x) {
		return false
	}
	s.packetPrefixes(&k)
	return s.delKey(&k, now) == nil
}

// SkbInfo returns the skbinfo of the packet's element (--map-set).
func (rs *ruleSet) SkbInfo(c *filter.Context, q *filter.SetQuery) (filter.SkbInfo, bool) {
	return rs.ref.Set().skbInfo(c, q)
}

func (s *Set) skbInfo(c *filter.Context, q *filter.SetQuery) (filter.SkbInfo, bool) {
	if s.typ.storage == listStorage {
		for _, m := range s.liveMembers(c.Now.UnixNano()) {
			if info, ok := m.member.Set().skbInfo(c, q); ok {
				return info, true
			}
		}
		return filter.SkbInfo{}, false
	}
	e, ok := s.match(c, q, q.NoCounters)
	if !ok || !s.opts.SkbInfo {
		return filter.SkbInfo{}, ok
	}
	return e.skb, true
}
