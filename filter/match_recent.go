package filter

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// RecentCommand is what -m recent does with the packet's address
// (XT_RECENT_SET … XT_RECENT_REMOVE).
type RecentCommand uint8

// The recent commands.
const (
	// RecentSet adds the address to the list, or records one more
	// packet of it, and matches (--set).
	RecentSet RecentCommand = iota + 1
	// RecentCheck matches if the address is in the list (--rcheck).
	RecentCheck
	// RecentUpdate is RecentCheck that also records the packet when it
	// matches (--update).
	RecentUpdate
	// RecentRemove removes the address and matches if it was there
	// (--remove).
	RecentRemove
)

// RecentDefaultListSize is the kernel's ip_list_tot: the addresses a
// recent list remembers before it forgets the least recently seen.
const RecentDefaultListSize = 100

// RecentMaxHitCount is the largest --hitcount the kernel takes
// (XT_RECENT_MAX_NSTAMPS - 1, on the kernels that raised it to 65536).
const RecentMaxHitCount = 65535

// RecentNameLen is XT_RECENT_NAME_LEN: a list's name has fewer bytes.
const RecentNameLen = 200

// recentDefaultStamps is how many packets an address's entry remembers
// when no rule sets --hitcount (the kernel's 32, ip_pkt_list_tot being 0).
const recentDefaultStamps = 32

// RecentMatch is -m recent (xt_recent.c, revision 1): a named list of
// addresses with the times their packets were seen, shared by every rule
// that names it, for both families, and kept across a ruleset
// replacement that keeps a rule naming it (a named object, see Objects).
//
// As in the kernel, the list takes its address mask from the rule that
// creates it, and a rule that needs more remembered packets (a larger
// --hitcount) than the list keeps empties it and makes it keep as many.
// A forwarded packet's TTL is taken as it was before forwarding (one
// more, at hooks with an output interface, for a packet the host did not
// send). The packet path allocates only for an address the list has not
// seen while the list has fewer than its size: a forgotten entry is
// reused.
type RecentMatch struct {
	// ListName is --name ("DEFAULT" if not given).
	ListName string
	// Command is --set, --rcheck, --update or --remove; Invert is "!"
	// before it.
	Command RecentCommand
	Invert  bool
	// Seconds is --seconds (0: any time); Reap is --reap.
	Seconds uint32
	Reap    bool
	// HitCount is --hitcount (0: one packet is enough).
	HitCount uint32
	// TTL is --rttl: the entry must have been seen with this TTL.
	TTL bool
	// Dest is --rdest: the list holds destination addresses (the
	// default, --rsource, source addresses).
	Dest bool
	// Mask is --mask, applied to the address before it is looked up or
	// stored (all ones if not given).
	Mask netip.Addr

	list *RecentList
}

// Name returns "recent".
func (*RecentMatch) Name() string { return "recent" }

// stampMask is the number of packets an entry must remember for this
// rule, less one: recent_mt_check's nstamp_mask.
func (m *RecentMatch) stampMask() uint16 {
	if m.HitCount == 0 {
		return recentDefaultStamps - 1
	}
	n := uint32(1)
	for n < m.HitCount {
		n <<= 1
	}
	return uint16(n - 1)
}

// Bind finds or creates the list the rule names (one for both
// families), as recent_mt_check does.
func (m *RecentMatch) Bind(b *Binding) (any, error) {
	size := b.objs.RecentListSize
	if size <= 0 {
		size = RecentDefaultListSize
	}
	l := BindSharedObject(b, "recent", m.ListName, func() *RecentList {
		return newRecentList(m.ListName, m.Mask, size, m.stampMask())
	})
	l.needStamps(m.stampMask())
	bound := *m
	bound.list = l
	return &bound, nil
}

// CheckRule refuses what recent_mt_check refuses (EINVAL): a modifier
// with --set or --remove, --reap without --seconds, a --hitcount above
// the kernel's maximum, and a name the kernel cannot make a /proc file
// of.
func (m *RecentMatch) CheckRule(_ *Rule, _ Site) error {
	switch {
	case m.Command < RecentSet || m.Command > RecentRemove:
		return fmt.Errorf("%w: one of --set, --rcheck, --update or --remove is required", ErrRecentInvalid)
	case (m.Command == RecentSet || m.Command == RecentRemove) && (m.Seconds != 0 || m.HitCount != 0 || m.Reap || m.TTL):
		return fmt.Errorf("%w: --seconds, --hitcount, --reap and --rttl need --rcheck or --update", ErrRecentInvalid)
	case m.Reap && m.Seconds == 0:
		return fmt.Errorf("%w: --reap needs --seconds", ErrRecentInvalid)
	case m.HitCount > RecentMaxHitCount:
		return fmt.Errorf("%w: hitcount (%d) is larger than allowed maximum (%d)", ErrRecentInvalid, m.HitCount, RecentMaxHitCount)
	case m.ListName == "" || m.ListName == "." || m.ListName == ".." || strings.ContainsRune(m.ListName, '/') || len(m.ListName) >= RecentNameLen:
		return fmt.Errorf("%w: bad list name %q", ErrRecentInvalid, m.ListName)
	}
	return nil
}

// ErrRecentInvalid is CheckRule's error for a recent rule the kernel
// refuses (EINVAL, "Invalid argument").
var ErrRecentInvalid = errors.New("recent: invalid argument")

// Match applies the command to the packet's address (recent_mt).
func (m *RecentMatch) Match(c *Context) bool {
	l := m.list
	if l == nil {
		return false
	}
	p := c.Packet
	addr := p.Src()
	if m.Dest {
		addr = p.Dst()
	}
	ttl := p.TTL
	if c.Out != "" && !c.Origin.HasSocket {
		ttl++
	}
	ret := m.Invert
	now := jiffies(c.Now)

	l.mu.Lock()
	defer l.mu.Unlock()
	key := recentKey{family: p.Family, addr: maskWith(addr, l.mask)}
	e := l.entries[key]
	if e != nil && m.TTL && ttl != 0 && e.ttl != 0 && e.ttl != ttl {
		e = nil
	}
	if e == nil {
		if m.Command != RecentSet {
			return ret
		}
		l.insert(key, ttl, now)
		return !ret
	}
	switch m.Command {
	case RecentSet:
		ret = !ret
	case RecentRemove:
		l.remove(e)
		return !ret
	default:
		since := now - int64(m.Seconds)*limitHZ
		hits := uint32(0)
		for _, s := range e.stamps[:e.nstamps] {
			if m.Seconds != 0 && s < since {
				continue
			}
			if hits++; m.HitCount == 0 || hits >= m.HitCount {
				ret = !ret
				break
			}
		}
		if m.Reap {
			// The least recently seen entry goes if its last packet is
			// older than the window, unless it is the one about to be
			// recorded.
			if head := l.lru.next; head != &l.lru && !(head == e && m.Command == RecentUpdate && ret) && head.last() < since {
				if head == e {
					l.remove(e)
					return ret
				}
				l.remove(head)
			}
		}
	}
	if m.Command == RecentSet || (m.Command == RecentUpdate && ret) {
		l.record(e, now)
		e.ttl = ttl
	}
	return ret
}

// maskWith applies a mask of the address's family (all ones if the mask
// is of the other family, or unset).
func maskWith(a, mask netip.Addr) netip.Addr {
	if !mask.IsValid() || mask.Is4() != a.Is4() {
		return a
	}
	b, mb := a.As16(), mask.As16()
	for i := range b {
		b[i] &= mb[i]
	}
	if a.Is4() {
		return netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrFrom16(b)
}

// RecentList is one named list of -m recent (struct recent_table): the
// addresses seen, each with the times of its last packets, at most
// size of them, the least recently seen forgotten first.
//
// mu guards everything below it; it is a leaf lock, held for one packet's
// lookup and update or one control operation.
type RecentList struct {
	name string
	mask netip.Addr
	size int

	mu sync.Mutex
	// stampMask+1 is how many packet times an entry keeps.
	stampMask uint16
	entries   map[recentKey]*recentEntry
	// lru is the head of the ring of entries, least recently seen
	// first.
	lru recentEntry
	// free holds removed entries for reuse.
	free []*recentEntry
}

type recentKey struct {
	family packet.Family
	addr   netip.Addr
}

// recentEntry is one address (struct recent_entry).
type recentEntry struct {
	key        recentKey
	ttl        uint8
	index      uint16 // where the next time goes, 1-based as the kernel's
	nstamps    uint16
	stamps     []int64 // jiffies
	prev, next *recentEntry
}

// last returns the time of the entry's latest packet.
func (e *recentEntry) last() int64 { return e.stamps[e.index-1] }

func newRecentList(name string, mask netip.Addr, size int, stampMask uint16) *RecentList {
	l := &RecentList{name: name, mask: mask, size: size, stampMask: stampMask, entries: map[recentKey]*recentEntry{}}
	l.lru.prev, l.lru.next = &l.lru, &l.lru
	return l
}

// Name returns the list's name.
func (l *RecentList) Name() string { return l.name }

// needStamps makes entries keep at least mask+1 packet times, emptying
// the list if they kept fewer, as the kernel does when a rule with a
// larger --hitcount is loaded.
func (l *RecentList) needStamps(mask uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mask > l.stampMask {
		l.flush()
		l.stampMask = mask
	}
}

// insert adds an entry for key seen now (recent_entry_init), forgetting
// the least recently seen one if the list is full. l.mu is held.
func (l *RecentList) insert(key recentKey, ttl uint8, now int64) {
	if len(l.entries) >= l.size {
		l.remove(l.lru.next)
	}
	var e *recentEntry
	n := int(l.stampMask) + 1
	if k := len(l.free); k > 0 {
		e, l.free = l.free[k-1], l.free[:k-1]
		if cap(e.stamps) < n {
			e.stamps = make([]int64, n)
		}
		e.stamps = e.stamps[:n]
	} else {
		e = &recentEntry{stamps: make([]int64, n)}
	}
	e.key, e.ttl, e.index, e.nstamps = key, ttl, 1, 1
	e.stamps[0] = now
	l.entries[key] = e
	e.prev, e.next = l.lru.prev, &l.lru
	l.lru.prev.next = e
	l.lru.prev = e
}

// record adds a packet time to e and makes it the most recently seen
// (recent_entry_update). l.mu is held.
func (l *RecentList) record(e *recentEntry, now int64) {
	e.index &= l.stampMask
	e.stamps[e.index] = now
	e.index++
	if e.index > e.nstamps {
		e.nstamps = e.index
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = l.lru.prev, &l.lru
	l.lru.prev.next = e
	l.lru.prev = e
}

// remove forgets e. l.mu is held.
func (l *RecentList) remove(e *recentEntry) {
	delete(l.entries, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	if len(l.free) < l.size {
		l.free = append(l.free, e)
	}
}

// flush forgets every entry. l.mu is held.
func (l *RecentList) flush() {
	for e := l.lru.next; e != &l.lru; {
		next := e.next
		l.remove(e)
		e = next
	}
}

// RecentEntry is one address of a recent list, as /proc/net/xt_recent
// shows it.
type RecentEntry struct {
	Addr netip.Addr
	TTL  uint8
	// Seen are the times of the packets remembered, in the order the
	// kernel keeps them (a ring: not sorted once it has wrapped);
	// LastSeen is the latest.
	Seen     []time.Time
	LastSeen time.Time
	// Index is where the next time goes (the kernel's oldest_pkt).
	Index uint16
}

// Entries returns the list's addresses, least recently seen first.
func (l *RecentList) Entries() []RecentEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []RecentEntry
	for e := l.lru.next; e != &l.lru; e = e.next {
		re := RecentEntry{Addr: e.key.addr, TTL: e.ttl, Index: e.index, LastSeen: fromJiffies(e.stamps[(e.index-1)&l.stampMask])}
		for _, s := range e.stamps[:e.nstamps] {
			re.Seen = append(re.Seen, fromJiffies(s))
		}
		out = append(out, re)
	}
	return out
}

// fromJiffies is jiffies' inverse.
func fromJiffies(j int64) time.Time { return time.UnixMilli(j * 1000 / limitHZ) }

// WriteTo prints the list as /proc/net/xt_recent/NAME does, one line per
// address, least recently seen first (the kernel prints them in hash
// order), with times in milliseconds of the Unix epoch where the kernel
// prints jiffies since boot.
func (l *RecentList) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, e := range l.Entries() {
		fmt.Fprintf(&b, "src=%s ttl: %d last_seen: %d oldest_pkt: %d", e.Addr, e.TTL, e.LastSeen.UnixMilli(), e.Index)
		for i, s := range e.Seen {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %d", s.UnixMilli())
		}
		b.WriteByte('\n')
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ErrRecentCommand is Control's error for a line that is not "+ADDR",
// "-ADDR" or "/".
var ErrRecentCommand = errors.New(`need "+ip", "-ip" or "/"`)

// Control applies one line written to /proc/net/xt_recent/NAME
// (recent_mt_proc_write): "+ADDR" adds the address or records a packet
// of it now, "-ADDR" removes it, "/" empties the list. The address is
// not masked, as in the kernel.
func (l *RecentList) Control(line string, now time.Time) error {
	line = strings.TrimSuffix(line, "\n")
	if line == "" {
		return ErrRecentCommand
	}
	op, rest := line[0], line[1:]
	l.mu.Lock()
	defer l.mu.Unlock()
	switch op {
	case '/':
		l.flush()
		return nil
	case '+', '-':
	default:
		return ErrRecentCommand
	}
	a, err := netip.ParseAddr(rest)
	if err != nil || a.Zone() != "" || strings.Contains(rest, ":") != a.Is6() {
		return fmt.Errorf("illegal address written to the list: %q", rest)
	}
	key := recentKey{family: packet.IPv4, addr: a}
	if a.Is6() {
		key.family = packet.IPv6
	}
	e := l.entries[key]
	switch {
	case e == nil && op == '+':
		l.insert(key, 0, jiffies(now))
	case e != nil && op == '+':
		l.record(e, jiffies(now))
	case e != nil:
		l.remove(e)
	}
	return nil
}

// RecentListNamed returns the recent list of that name in o, if a rule
// holds one.
func RecentListNamed(o *Objects, name string) (*RecentList, bool) {
	return Lookup[*RecentList](o, ObjectKey{Kind: "recent", Name: name})
}

// RecentLists returns o's recent lists, sorted by name (the files of
// /proc/net/xt_recent).
func RecentLists(o *Objects) []*RecentList {
	var ls []*RecentList
	Each(o, "recent", func(_ ObjectKey, l *RecentList) { ls = append(ls, l) })
	slices.SortFunc(ls, func(a, b *RecentList) int { return strings.Compare(a.name, b.name) })
	return ls
}
