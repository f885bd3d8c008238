package conntrack

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// This file is nf_conntrack_expect: the connections a helper (FTP, IRC,
// TFTP, SIP) has announced, such as an FTP data connection after a PORT
// command. A new connection that matches an expectation is RELATED to
// its master from its first packet on.

// The errors Expect returns, with the errno the kernel's
// nf_ct_expect_related returns for the same case.
var (
	// ErrExpectationClash: another master expects an overlapping tuple
	// (EBUSY).
	ErrExpectationClash = errors.New("conntrack: expectation clashes with another master's (EBUSY)")
	// ErrExpectationExists: the same master already expects the same
	// tuple in another class (EALREADY).
	ErrExpectationExists = errors.New("conntrack: master already expects this tuple in another class (EALREADY)")
	// ErrExpectTableFull: the table holds its maximum of expectations
	// (EMFILE, "nf_conntrack: expectation table full").
	ErrExpectTableFull = errors.New("nf_conntrack: expectation table full")
	// ErrNoMaster: the packet given as master has no connection (it is
	// INVALID or UNTRACKED).
	ErrNoMaster = errors.New("conntrack: an expectation needs a tracked master connection")
	// ErrBadExpectation: the expectation's tuple or mask cannot be
	// expected.
	ErrBadExpectation = errors.New("conntrack: bad expectation")
)

// ExpectMask says which fields of an expectation's tuple are wildcards.
// Only the source address and the source port may be, as in the kernel,
// whose helpers always know where the expected connection goes (the
// FTP client's data port) but not always where it comes from (IRC DCC:
// any source port).
type ExpectMask uint8

// The wildcard bits.
const (
	ExpectAnySrcAddr ExpectMask = 1 << iota
	ExpectAnySrcPort
)

// DefaultExpectTimeout is an expectation's lifetime when it sets none:
// the ftp, irc and tftp helpers' policy timeout (300 s).
const DefaultExpectTimeout = 300 * time.Second

// Expectation is a connection a helper expects (struct
// nf_conntrack_expect).
type Expectation struct {
	// Tuple is the expected connection's original tuple; the fields
	// Mask names are ignored.
	Tuple Tuple
	Mask  ExpectMask
	// Master is the original tuple of the connection that expects,
	// which identifies it while it lives. Expect sets it.
	Master Tuple
	// Timeout is how long the expectation lives (0:
	// DefaultExpectTimeout). In Expectations' listing it is the time
	// left.
	Timeout time.Duration
	// Class is the helper's expectation class (SIP: signalling, audio,
	// video, image).
	Class uint8
	// Helper names the helper that expects, e.g. "ftp".
	Helper string
	// MaxExpected is the helper policy's max_expected for Class: a
	// master has at most this many expectations of the class, a new one
	// evicting the oldest (0: no limit).
	MaxExpected int
	// Permanent is NF_CT_EXPECT_PERMANENT: the expectation is not used
	// up by the first connection that matches it, but lives until it
	// times out or its master dies.
	Permanent bool
}

// String formats the expectation as conntrack -L expect prints it:
//
//	297 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp
func (e Expectation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d proto=%d %s ", int64(max(e.Timeout, 0)/time.Second), e.Tuple.Proto, e.Tuple)
	sport := 0xffff
	if e.Mask&ExpectAnySrcPort != 0 {
		sport = 0
	}
	fmt.Fprintf(&b, "mask-src=%v mask-dst=%v sport=%d dport=%d ",
		maskAddr(e.Tuple.Family, e.Mask&ExpectAnySrcAddr != 0), maskAddr(e.Tuple.Family, false), sport, 0xffff)
	m := e.Master.String()
	m = strings.Replace(strings.Replace(m, "src=", "master-src=", 1), "dst=", "master-dst=", 1)
	fmt.Fprintf(&b, "%s ", m)
	if e.Permanent {
		b.WriteString("PERMANENT ")
	}
	fmt.Fprintf(&b, "class=%d ", e.Class)
	if e.Tuple.Zone != 0 {
		fmt.Fprintf(&b, "zone=%d ", e.Tuple.Zone)
	}
	if e.Helper != "" {
		fmt.Fprintf(&b, "helper=%s ", e.Helper)
	}
	return strings.TrimSuffix(b.String(), " ")
}

// maskAddr returns the mask of an address: all ones, or zero for a
// wildcard.
func maskAddr(f packet.Family, wildcard bool) netip.Addr {
	var b [16]byte
	if !wildcard {
		for i := range b {
			b[i] = 0xff
		}
	}
	if f == packet.IPv6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// matches reports whether a new connection's original tuple t is
// expected (nf_ct_tuple_mask_cmp).
func (e *Expectation) matches(t *Tuple) bool {
	x := &e.Tuple
	return t.Dst == x.Dst && t.DstPort == x.DstPort && t.Proto == x.Proto && t.Family == x.Family && t.Zone == x.Zone &&
		(e.Mask&ExpectAnySrcAddr != 0 || t.Src == x.Src) &&
		(e.Mask&ExpectAnySrcPort != 0 || t.SrcPort == x.SrcPort)
}

// same reports whether e and o expect the same thing (expect_matches).
func (e *Expectation) same(o *Expectation) bool {
	return e.Mask == o.Mask && e.matches(&o.Tuple)
}

// clashes reports whether e and o can match one connection
// (expect_clash): their tuples agree on every field both of them care
// about.
func (e *Expectation) clashes(o *Expectation) bool {
	m := e.Mask | o.Mask
	x := Expectation{Tuple: e.Tuple, Mask: m}
	return x.matches(&o.Tuple)
}

// expectation is a stored Expectation.
type expectation struct {
	Expectation
	mark     uint32 // the master's mark, copied into the new connection
	deadline int64
	seq      uint64 // creation order, for evicting the oldest
}

// expectKey is what an expectation never wildcards: the expected
// connection's destination.
type expectKey struct {
	dst    [16]byte
	dport  uint16
	zone   uint16
	family packet.Family
	proto  uint8
}

func expectKeyOf(t *Tuple) expectKey {
	return expectKey{dst: t.Dst, dport: t.DstPort, zone: t.Zone, family: t.Family, proto: t.Proto}
}

// expectTable holds a table's expectations, found by destination (to
// match a new connection) and by master (to evict, and to drop them when
// the master dies). The kernel keeps a hash by tuple and a list per
// master likewise.
type expectTable struct {
	mu       sync.Mutex
	byDst    map[expectKey][]*expectation
	byMaster map[Tuple][]*expectation
	n, max   int
	seq      uint64
	// hooks is the table's tableExt.hooks.
	hooks *atomic.Int64
}

// init sizes the table as nf_conntrack_expect_init does: a bucket for
// every 256 of the conntrack table's, four expectations a bucket.
func (x *expectTable) init(ctMax int, hooks *atomic.Int64) {
	x.hooks = hooks
	x.byDst = make(map[expectKey][]*expectation)
	x.byMaster = make(map[Tuple][]*expectation)
	x.max = max(ctMax/256, 1) * 4
}

// remove forgets an expectation. x.mu must be held.
func (x *expectTable) remove(e *expectation) {
	k := expectKeyOf(&e.Tuple)
	if l := deleteExp(x.byDst[k], e); len(l) == 0 {
		delete(x.byDst, k)
	} else {
		x.byDst[k] = l
	}
	if l := deleteExp(x.byMaster[e.Master], e); len(l) == 0 {
		delete(x.byMaster, e.Master)
	} else {
		x.byMaster[e.Master] = l
	}
	x.n--
	x.hooks.Add(-hookExpectation)
}

func deleteExp(l []*expectation, e *expectation) []*expectation {
	if i := slices.Index(l, e); i >= 0 {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// expire removes the expectations of l that have timed out and returns
// the ones left. x.mu must be held.
func (x *expectTable) expire(l []*expectation, now int64) []*expectation {
	dead := func(e *expectation) bool { return now >= e.deadline }
	if !slices.ContainsFunc(l, dead) {
		return l
	}
	// remove edits the map's slices in place: work on a copy.
	l = slices.Clone(l)
	for _, e := range l {
		if dead(e) {
			x.remove(e)
		}
	}
	return slices.DeleteFunc(l, dead)
}

// masterGone drops the expectations of a connection that is destroyed
// (nf_ct_remove_expectations).
func (x *expectTable) masterGone(orig *Tuple) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range slices.Clone(x.byMaster[*orig]) {
		x.remove(e)
	}
}

// FlushExpectations drops every expectation (conntrack -F expect).
func (t *Table) FlushExpectations() { t.ext.expect.clear() }

// clear drops every expectation.
func (x *expectTable) clear() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, l := range x.byMaster {
		for _, e := range slices.Clone(l) {
			x.remove(e)
		}
	}
}

// Expect registers an expectation of the connection master's packet
// belongs to (nf_ct_expect_related), as a helper does on seeing, say, an
// FTP PORT command. The master may still be unconfirmed (a helper runs
// before confirmation); its mark is taken now and given to the expected
// connection.
//
// As in __nf_ct_expect_check: an expectation from the same master for
// the same tuple and mask replaces the old one (ErrExpectationExists if
// its class differs); one that overlaps another master's fails with
// ErrExpectationClash; when the master has MaxExpected of the class, its
// oldest one of the class is evicted; when the table holds its maximum
// (nf_ct_expect_max: four for every 256 connections of Config.Max),
// ErrExpectTableFull.
func (t *Table) Expect(master *Result, e Expectation, now time.Time) error {
	if master == nil || !master.Tracked() {
		return ErrNoMaster
	}
	switch {
	case master.isNew:
		e.Master = master.pending.tuple[Original]
	case master.ref.shard != nil:
		e.Master = master.Tuple(Original)
	default:
		return ErrNoMaster
	}
	if e.Tuple.Family != packet.IPv4 && e.Tuple.Family != packet.IPv6 {
		return fmt.Errorf("%w: family %d", ErrBadExpectation, e.Tuple.Family)
	}
	if e.Mask&^(ExpectAnySrcAddr|ExpectAnySrcPort) != 0 {
		return fmt.Errorf("%w: only the source address and port may be wildcards", ErrBadExpectation)
	}
	if e.Timeout <= 0 {
		e.Timeout = DefaultExpectTimeout
	}
	ns := now.UnixNano()
	x := &t.ext.expect
	x.mu.Lock()
	defer x.mu.Unlock()
	k := expectKeyOf(&e.Tuple)
	for _, o := range slices.Clone(x.expire(x.byDst[k], ns)) {
		switch {
		case o.Master == e.Master && o.same(&e):
			if o.Class != e.Class {
				return ErrExpectationExists
			}
			x.remove(o)
		case o.clashes(&e):
			return ErrExpectationClash
		}
	}
	if e.MaxExpected > 0 {
		var mine []*expectation
		for _, o := range x.expire(x.byMaster[e.Master], ns) {
			if o.Class == e.Class {
				mine = append(mine, o)
			}
		}
		// evict_oldest_expect: make room for the new one.
		for len(mine) >= e.MaxExpected {
			oldest := slices.MinFunc(mine, func(a, b *expectation) int { return int(a.seq - b.seq) })
			x.remove(oldest)
			mine = deleteExp(mine, oldest)
		}
	}
	if x.n >= x.max {
		for _, l := range x.byDst {
			x.expire(l, ns)
		}
		if x.n >= x.max {
			return ErrExpectTableFull
		}
	}
	x.seq++
	n := &expectation{Expectation: e, mark: master.Mark, deadline: ns + int64(e.Timeout), seq: x.seq}
	x.byDst[k] = append(x.byDst[k], n)
	x.byMaster[e.Master] = append(x.byMaster[e.Master], n)
	x.n++
	x.hooks.Add(hookExpectation)
	return nil
}

// Expectations returns the live expectations (conntrack -L expect),
// oldest first, each with the time it has left as its Timeout.
func (t *Table) Expectations(now time.Time) []Expectation {
	x := &t.ext
	ns := now.UnixNano()
	x.expect.mu.Lock()
	defer x.expect.mu.Unlock()
	var live []*expectation
	for _, l := range x.expect.byDst {
		live = append(live, x.expect.expire(l, ns)...)
	}
	slices.SortFunc(live, func(a, b *expectation) int { return int(a.seq - b.seq) })
	out := make([]Expectation, len(live))
	for i, e := range live {
		out[i] = e.Expectation
		out[i].Timeout = time.Duration(e.deadline - ns)
	}
	return out
}

// matchExpectation is init_conntrack's expectation lookup for a new
// connection e whose first packet the tracker accepted: if it is
// expected, it becomes RELATED to the master (EXPECTED set, the master's
// mark copied), and the expectation is used up unless it is permanent.
// With no expectation anywhere it is one atomic load.
//
// Like the kernel, it uses the expectation up even if the packet is
// later dropped and the connection never confirmed.
func (t *Table) matchExpectation(e *entry, now int64) {
	x := &t.ext
	if x.hooks.Load()&hookExpectMask == 0 {
		return
	}
	xt := &x.expect
	xt.mu.Lock()
	defer xt.mu.Unlock()
	tp := &e.tuple[Original]
	for _, exp := range xt.expire(xt.byDst[expectKeyOf(tp)], now) {
		if !exp.matches(tp) {
			continue
		}
		if !exp.Permanent {
			xt.remove(exp)
		}
		e.status |= StatusExpected
		e.mark = exp.mark
		return
	}
}
