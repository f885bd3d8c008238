//lint:file-ignore ST1005 the messages are the original tool's, word for word

package ipset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ext are the extensions an element is added with (ipset add's
// options). Zero fields are not given.
type Ext struct {
	// HasTimeout gives the element Timeout seconds (0: never expires)
	// instead of the set's default.
	HasTimeout bool
	Timeout    uint32
	// HasCounters starts the element's counters at Packets and Bytes.
	HasCounters    bool
	Packets, Bytes uint64
	// Comment is the element's comment (at most 255 bytes kept).
	Comment string
	// Skb is the element's skbinfo.
	Skb SkbInfo
	// Nomatch adds the element as an exception: a lookup that finds it
	// does not match (types with networks only).
	Nomatch bool
	// Wildcard makes a hash:net,iface element's interface a prefix:
	// "eth" with Wildcard matches eth0, eth1 (ipset's wildcard flag).
	Wildcard bool
	// Before and After place a list:set member before or after another.
	Before, After string
}

// Errors for extensions a set was created without; the messages are
// ipset's.
var (
	errNoTimeout  = errors.New("Timeout cannot be used: set was created without timeout support")
	errNoCounters = errors.New("Packet/byte counters cannot be used: set was created without counter support")
	errNoComment  = errors.New("Comment cannot be used: set was created without comment support")
	errNoSkbInfo  = errors.New("Skbinfo mapping cannot be used: set was created without skbinfo support")
	errNoNomatch  = fmt.Errorf("Unknown argument: `nomatch'")
	errNoMember   = errors.New("Set to be added/deleted/tested as element does not exist.")
	errNoRefSet   = errors.New("The set to which you referred with 'before' or 'after' does not exist.")
	errLoop       = errors.New("Sets with list:set type cannot be added to the set.")
	errRefMissing = errors.New("Element cannot be added to the set: the set to which you referred is not in the list")
)

// maxComment is how much of a comment the kernel keeps
// (IPSET_MAX_COMMENT_SIZE).
const maxComment = 255

// now returns the Sets' clock's time, in Unix nanoseconds.
func (ss *Sets) now() int64 {
	if ss.Clock != nil {
		return ss.Clock().UnixNano()
	}
	return time.Now().UnixNano()
}

// checkExt checks ext against the set's options.
func (s *Set) checkExt(ext *Ext) error {
	switch {
	case ext.HasTimeout && !s.opts.HasTimeout:
		return errNoTimeout
	case ext.HasCounters && !s.opts.Counters:
		return errNoCounters
	case ext.Comment != "" && !s.opts.Comment:
		return errNoComment
	case (ext.Skb.HasMark || ext.Skb.HasPrio || ext.Skb.HasQueue) && !s.opts.SkbInfo:
		return errNoSkbInfo
	case ext.Nomatch && !s.typ.nomatch:
		return errNoNomatch
	case strings.Contains(ext.Comment, `"`):
		return fmt.Errorf(`%w: " character is not permitted in comments`, ErrSyntax)
	}
	return nil
}

// newEntry makes the entry for k with ext, added at now.
func (s *Set) newEntry(k key, x extra, ext *Ext, now int64) *entry {
	e := &entry{k: k, mac: x.mac, hasMAC: x.hasMAC, nomatch: ext.Nomatch}
	if s.opts.HasTimeout {
		t := s.opts.Timeout
		if ext.HasTimeout {
			t = ext.Timeout
		}
		if t > 0 {
			e.deadline = now + int64(t)*int64(time.Second)
		}
	}
	if ext.HasCounters {
		e.packets.Store(ext.Packets)
		e.bytes.Store(ext.Bytes)
	}
	if s.opts.Comment {
		c := ext.Comment
		if len(c) > maxComment {
			c = c[:maxComment]
		}
		e.comment = c
	}
	if s.opts.SkbInfo {
		e.skb = ext.Skb
	}
	return e
}

// inRange checks a bitmap's element against its range.
func (s *Set) inRange(k *key) error {
	if s.typ.storage != bitmapStorage {
		return nil
	}
	if s.typ.has(dimPort) {
		from := uint16(s.opts.RangeFrom[14])<<8 | uint16(s.opts.RangeFrom[15])
		to := uint16(s.opts.RangeTo[14])<<8 | uint16(s.opts.RangeTo[15])
		if k.port < from || k.port > to {
			return ErrOutOfRange
		}
		return nil
	}
	if compare4(k.ip, s.opts.RangeFrom) < 0 || compare4(k.ip, s.opts.RangeTo) > 0 {
		return ErrOutOfRange
	}
	return nil
}

func compare4(a, b [16]byte) int {
	return strings.Compare(string(a[:4]), string(b[:4]))
}

// Add adds elem, in ipset's syntax, to the set called name, with ext. An
// element that is there is an error unless exist, when its extensions
// are replaced (as ipset -exist add does).
func (ss *Sets) Add(name, elem string, ext Ext, exist bool) error {
	s, err := ss.set(name)
	if err != nil {
		return err
	}
	if err := s.checkExt(&ext); err != nil {
		return err
	}
	now := ss.now()
	if s.typ.storage == listStorage {
		return ss.addMember(s, elem, &ext, exist, now)
	}
	return s.parseElement(elem, func(k key, x extra) error {
		if err := s.inRange(&k); err != nil {
			return err
		}
		k.iface.wildcard = ext.Wildcard
		e := s.newEntry(k, x, &ext, now)
		if exist && !ext.HasCounters {
			if old := s.lookup(&k, now); old != nil {
				e.packets.Store(old.packets.Load())
				e.bytes.Store(old.bytes.Load())
			}
		}
		return s.addEntry(e, exist, now)
	})
}

// Del deletes elem from the set called name. An element that is not
// there is an error unless exist.
func (ss *Sets) Del(name, elem string, exist bool) error {
	s, err := ss.set(name)
	if err != nil {
		return err
	}
	now := ss.now()
	if s.typ.storage == listStorage {
		return ss.delMember(s, elem, exist, now)
	}
	return s.parseElement(elem, func(k key, _ extra) error {
		if err := s.inRange(&k); err != nil {
			return err
		}
		if err := s.delKey(&k, now); err != nil && !exist {
			return err
		}
		return nil
	})
}

// Test reports whether elem is in the set called name, as ipset test
// answers it: a network type given an address without a prefix length
// looks for the networks that hold it, and an element added as nomatch
// is not in the set; a range is in the set when every element of it is.
func (ss *Sets) Test(name, elem string) (bool, error) {
	s, err := ss.set(name)
	if err != nil {
		return false, err
	}
	now := ss.now()
	if s.typ.storage == listStorage {
		return ss.testMember(s, elem, now)
	}
	containing := s.typ.nets() > 0 && !strings.ContainsAny(elem, "/-")
	found := true
	err = s.parseElement(elem, func(k key, x extra) error {
		var e *entry
		if containing {
			e = s.find(k, now)
		} else {
			e = s.lookup(&k, now)
		}
		if e == nil || e.nomatch || x.hasMAC && (!e.hasMAC || e.mac != x.mac) {
			found = false
		}
		return nil
	})
	return found, err
}

// addMember adds a member set to a list:set.
func (ss *Sets) addMember(s *Set, name string, ext *Ext, exist bool, now int64) error {
	r := ss.Ref(name)
	if r == nil {
		return errNoMember
	}
	if r.Set().typ.storage == listStorage {
		return errLoop
	}
	ref := ext.Before
	after := false
	if ext.After != "" {
		ref, after = ext.After, true
	}
	if ref != "" && ss.Ref(ref) == nil {
		return errNoRefSet
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredMembers(now)
	for i, m := range s.members {
		if m.member == r {
			if !exist {
				return ErrExists
			}
			e := s.newEntry(key{}, extra{}, ext, now)
			e.member = r
			nm := slices.Clone(s.members)
			nm[i] = e
			s.members = nm
			return nil
		}
	}
	at := len(s.members)
	if ref != "" {
		at = -1
		for i, m := range s.members {
			if m.member.Name() == ref {
				at = i
				if after {
					at++
				}
			}
		}
		if at < 0 {
			return errRefMissing
		}
	}
	e := s.newEntry(key{}, extra{}, ext, now)
	e.member = r
	e.seq = s.seq.Add(1)
	r.Hold()
	// The slice is replaced, never changed in place: packets iterate
	// over the one they loaded without the lock.
	nm := make([]*entry, 0, len(s.members)+1)
	nm = append(append(append(nm, s.members[:at]...), e), s.members[at:]...)
	s.members = nm
	return nil
}

func (ss *Sets) delMember(s *Set, name string, exist bool, now int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredMembers(now)
	for i, m := range s.members {
		if m.member.Name() == name {
			m.member.Release()
			s.members = append(s.members[:i:i], s.members[i+1:]...)
			return nil
		}
	}
	if exist {
		return nil
	}
	if ss.Ref(name) == nil {
		return errNoMember
	}
	return ErrNotFound
}

func (ss *Sets) testMember(s *Set, name string, now int64) (bool, error) {
	if ss.Ref(name) == nil {
		return false, errNoMember
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.member.Name() == name && m.live(now) {
			return true, nil
		}
	}
	return false, nil
}

// dropExpiredMembers forgets a list:set's expired members. s.mu is held.
func (s *Set) dropExpiredMembers(now int64) {
	var kept []*entry
	for _, m := range s.members {
		if m.live(now) {
			kept = append(kept, m)
		} else {
			m.member.Release()
		}
	}
	s.members = kept
}
