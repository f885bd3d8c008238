package conntrack

import (
	"bytes"
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
// TFTP, SIP, …) has announced, such as an FTP data connection after a
// PORT command. A new connection that matches an expectation is RELATED
// to its master from its first packet on.

// The errors Expect returns, with the errno the kernel's
// nf_ct_expect_related returns for the same case.
var (
	// ErrExpectationClash: another expectation overlaps this one
	// (EBUSY). A NAT helper then tries another port.
	ErrExpectationClash = errors.New("conntrack: expectation clashes with another one (EBUSY)")
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

// ExpectFlags are an expectation's NF_CT_EXPECT_* flags.
type ExpectFlags uint8

// The flags, with the kernel's values.
const (
	// ExpectPermanent: the expectation is not used up by the first
	// connection that matches it, but lives until it times out or its
	// master dies.
	ExpectPermanent ExpectFlags = 1 << iota
	// ExpectInactive: the expectation matches nothing until the flag is
	// cleared (H.323 and SIP register such placeholders).
	ExpectInactive
	// ExpectUserspace: made through the API (ctnetlink in the kernel),
	// not by a helper.
	ExpectUserspace
)

var expectFlagNames = [...]string{"PERMANENT", "INACTIVE", "USERSPACE"}

// String returns the set flags joined by commas, as conntrack -L expect
// prints them, or "" for none.
func (f ExpectFlags) String() string {
	var parts []string
	for i, n := range expectFlagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ",")
}

// DefaultExpectTimeout is the lifetime of an expectation whose master
// has no helper and which sets none.
const DefaultExpectTimeout = 300 * time.Second

// ExpectFollowMaster is the name of the kernel's expectfn
// nf_nat_follow_master, for [Expectation.Fn]: the expected connection
// is NATed as its master is, its source to where the master's packets
// in direction Dir go, its destination to where they come from, at
// SavedPort.
const ExpectFollowMaster = "nat-follow-master"

// Expectation is a connection a helper expects (struct
// nf_conntrack_expect).
type Expectation struct {
	// Tuple is the expected connection's original tuple; the fields
	// Mask names are ignored.
	Tuple Tuple
	Mask  ExpectMask
	// SrcBits, when not 0, compares only the first SrcBits bits of the
	// source address (the broadcast helper expects answers from the
	// query's subnet); ExpectAnySrcAddr ignores the address altogether.
	SrcBits uint8
	// Master and MasterReply are the master connection's tuples, which
	// identify it while it lives and which NAT of the expected
	// connection follows. Expect sets them.
	Master, MasterReply Tuple
	// Timeout is how long the expectation lives: 0 takes the timeout of
	// its class in the master's helper's policy. In listings and events
	// it is the time left.
	Timeout time.Duration
	// Class is the expectation class in the helper's policy (SIP:
	// signalling, audio, video, image).
	Class uint8
	Flags ExpectFlags
	// Helper is the master's helper, nil if it has none. Expect sets it.
	Helper Helper
	// AssignHelper, if not nil, is attached to the expected connection
	// (exp->assign_helper).
	AssignHelper Helper
	// Fn names what is done with the expected connection when it starts,
	// by the name the kernel registers the function under
	// (exp->expectfn): ExpectFollowMaster, or a helper's own, such as
	// SIP's "sip". The engine runs it; "" leaves the connection to the
	// rules.
	Fn string
	// Dir, SavedAddr and SavedPort are what a NAT helper kept of the
	// payload it rewrote (exp->dir, exp->saved_addr, exp->saved_proto):
	// the master's direction the expected connection follows, and where
	// it must reach once NAT has turned it back.
	Dir       Dir
	SavedAddr [16]byte
	SavedPort uint16
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
	fmt.Fprintf(&b, "mask-src=%v mask-dst=%v ", maskAddr(e.Tuple.Family, e.srcBits()), maskAddr(e.Tuple.Family, addrLen(e.Tuple.Family)*8))
	if e.Tuple.Proto == packet.ProtoGRE {
		// The mask's keys, printed as the tuple's are.
		fmt.Fprintf(&b, "srckey=0x%x dstkey=0x%x ", sport, 0xffff)
	} else {
		fmt.Fprintf(&b, "sport=%d dport=%d ", sport, 0xffff)
	}
	m := e.Master.String()
	m = strings.Replace(strings.Replace(m, "src=", "master-src=", 1), "dst=", "master-dst=", 1)
	fmt.Fprintf(&b, "%s ", m)
	if f := e.Flags.String(); f != "" {
		fmt.Fprintf(&b, "%s ", f)
	}
	fmt.Fprintf(&b, "class=%d ", e.Class)
	if e.Tuple.Zone != 0 {
		fmt.Fprintf(&b, "zone=%d ", e.Tuple.Zone)
	}
	if e.Helper != nil {
		fmt.Fprintf(&b, "helper=%s ", e.Helper.Name())
	}
	return strings.TrimSuffix(b.String(), " ")
}

// maskAddr returns the mask of an address of family f whose first bits
// count.
func maskAddr(f packet.Family, bits int) netip.Addr {
	var b [16]byte
	for i := range bits {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if f == packet.IPv6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// srcBits is how many leading bits of the source address the
// expectation compares.
func (e *Expectation) srcBits() int {
	switch {
	case e.Mask&ExpectAnySrcAddr != 0:
		return 0
	case e.SrcBits != 0:
		return min(int(e.SrcBits), addrLen(e.Tuple.Family)*8)
	}
	return addrLen(e.Tuple.Family) * 8
}

// prefixEqual reports whether a and b agree in their first bits bits.
func prefixEqual(a, b *[16]byte, bits int) bool {
	n := bits / 8
	if !bytes.Equal(a[:n], b[:n]) {
		return false
	}
	if r := bits % 8; r != 0 {
		m := byte(0xff << (8 - r))
		return a[n]&m == b[n]&m
	}
	return true
}

// matches reports whether a new connection's original tuple t is
// expected (nf_ct_tuple_mask_cmp).
func (e *Expectation) matches(t *Tuple) bool {
	return e.matchesBits(t, e.srcBits())
}

func (e *Expectation) matchesBits(t *Tuple, bits int) bool {
	x := &e.Tuple
	return t.Dst == x.Dst && t.DstPort == x.DstPort && t.Proto == x.Proto && t.Family == x.Family && t.Zone == x.Zone &&
		prefixEqual(&t.Src, &x.Src, bits) &&
		(e.Mask&ExpectAnySrcPort != 0 || t.SrcPort == x.SrcPort)
}

// same reports whether e and o expect the same thing (expect_matches).
func (e *Expectation) same(o *Expectation) bool {
	return e.Mask == o.Mask && e.srcBits() == o.srcBits() && e.matches(&o.Tuple)
}

// clashes reports whether e and o can match one connection
// (expect_clash): their tuples agree on every field both of them care
// about.
func (e *Expectation) clashes(o *Expectation) bool {
	x := Expectation{Tuple: e.Tuple, Mask: e.Mask | o.Mask}
	return x.matchesBits(&o.Tuple, min(e.srcBits(), o.srcBits()))
}

// expectation is a stored Expectation.
type expectation struct {
	Expectation
	mark     uint32 // the master's mark, copied into the new connection
	deadline int64
	seq      uint64 // creation order, for evicting the oldest
	// unconfirmed says the master is not confirmed yet: until it is, the
	// expectation matches nothing (nf_ct_find_expectation), since the
	// other end cannot know of it.
	unconfirmed bool
	// adopted says AdoptExpectation made it.
	adopted bool
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
//
// Lock order: a conntrack shard's mutex, then mu (a connection's
// destruction drops its expectations under its shard's lock).
type expectTable struct {
	mu       sync.Mutex
	byDst    map[expectKey][]*expectation
	byMaster map[Tuple][]*expectation
	n, max   int
	seq      uint64
	// hooks is the table's tableExt.hooks.
	hooks *atomic.Int64
	// events is the table's event hub, for expectation events.
	events *eventHub
}

// init sizes the table as nf_conntrack_expect_init does: a bucket for
// every 256 of the conntrack table's, four expectations a bucket.
func (x *expectTable) init(ctMax int, hooks *atomic.Int64, events *eventHub) {
	x.hooks, x.events = hooks, events
	x.byDst = make(map[expectKey][]*expectation)
	x.byMaster = make(map[Tuple][]*expectation)
	x.max = max(ctMax/256, 1) * 4
}

// remove forgets an expectation and reports its end. x.mu must be held.
func (x *expectTable) remove(e *expectation, now int64) {
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
	x.events.emitExpect(EventDestroy, e, now)
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
			x.remove(e, e.deadline)
		}
	}
	return slices.DeleteFunc(l, dead)
}

// masterGone drops the expectations of a connection that is destroyed,
// or was never confirmed (nf_ct_remove_expectations).
func (x *expectTable) masterGone(orig *Tuple, now int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range slices.Clone(x.byMaster[*orig]) {
		x.remove(e, now)
	}
}

// detach takes the expectations of the master orig off it, so that the
// master can be replaced without them dying (masterGone), if the
// replacement has the same reply tuple. They stay findable by their
// tuples meanwhile; reattach gives them back.
func (x *expectTable) detach(orig, reply *Tuple) []*expectation {
	if x.hooks.Load()&hookExpectMask == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.byMaster[*orig]
	if len(l) == 0 || l[0].MasterReply != *reply {
		return nil
	}
	delete(x.byMaster, *orig)
	return l
}

// reattach gives the expectations detach took back to their master,
// or, if it is not in the table (the replacement failed), ends them.
func (x *expectTable) reattach(orig *Tuple, l []*expectation, present bool, now int64) {
	if l == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.byMaster[*orig] = append(l, x.byMaster[*orig]...)
	if !present {
		for _, e := range slices.Clone(x.byMaster[*orig]) {
			x.remove(e, now)
		}
	}
}

// setMark gives the expectations of a master (found by its tuple in
// either direction) the master's new mark: the kernel copies the mark
// the master has when the expected connection arrives. x.mu is taken
// only when there are expectations.
func (x *expectTable) setMark(master *Tuple, mark uint32) {
	if x.hooks.Load()&hookExpectMask == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.byMaster[*master]
	if l == nil {
		// Found by its reply tuple: look for the master whose reply it is.
		for _, ms := range x.byMaster {
			if len(ms) > 0 && ms[0].MasterReply == *master {
				l = ms
				break
			}
		}
	}
	for _, e := range l {
		e.mark = mark
	}
}

// masterConfirmed lets the expectations of a master confirmed just now
// match connections.
func (x *expectTable) masterConfirmed(orig *Tuple) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range x.byMaster[*orig] {
		e.unconfirmed = false
	}
}

// FlushExpectations drops every expectation (conntrack -F expect).
func (t *Table) FlushExpectations(now time.Time) { t.ext.expect.clear(now.UnixNano()) }

// clear drops every expectation.
func (x *expectTable) clear(now int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, l := range x.byMaster {
		for _, e := range slices.Clone(l) {
			x.remove(e, now)
		}
	}
}

// Expect registers an expectation of the connection master's packet
// belongs to (nf_ct_expect_related), as a helper does on seeing, say, an
// FTP PORT command. The master may still be unconfirmed (a helper runs
// before confirmation): its expectation then matches nothing until it
// is confirmed, and goes if it never is. The master's mark is taken now
// and given to the expected connection.
//
// The master's helper's policy for the class sets the timeout (unless
// e.Timeout does) and the limit. As in __nf_ct_expect_check: an
// expectation from the same master for the same tuple and mask replaces
// the old one (ErrExpectationExists if its class differs); one that
// overlaps another fails with ErrExpectationClash; a master with the
// most expectations of the class its policy allows loses its oldest one
// of the class (evict_oldest_expect); when the table holds its maximum
// (nf_ct_expect_max: four for every 256 connections of Config.Max),
// ErrExpectTableFull.
func (t *Table) Expect(master *Result, e Expectation, now time.Time) error {
	return t.expect(master, []Expectation{e}, now, false)
}

// ExpectAnyMaster is Expect with NF_CT_EXP_F_SKIP_MASTER: an identical
// expectation of another master is not a clash but ErrExpectationExists
// (SIP takes that as success: two calls announce the same media).
func (t *Table) ExpectAnyMaster(master *Result, e Expectation, now time.Time) error {
	return t.expect(master, []Expectation{e}, now, true)
}

// ExpectPair registers two expectations of one master together, or
// neither (nf_ct_expect_related_pair): SIP's RTP and RTCP. anyMaster is
// NF_CT_EXP_F_SKIP_MASTER.
func (t *Table) ExpectPair(master *Result, pair [2]Expectation, now time.Time, anyMaster bool) error {
	return t.expect(master, pair[:], now, anyMaster)
}

// expect checks the expectations es of master, as __nf_ct_expect_check
// does, each counting the ones before it, and registers them all if all
// pass.
func (t *Table) expect(master *Result, es []Expectation, now time.Time, anyMaster bool) error {
	for i := range es {
		if err := prepareExpectation(master, &es[i]); err != nil {
			return err
		}
	}
	ns := now.UnixNano()
	x := &t.ext.expect
	x.mu.Lock()
	defer x.mu.Unlock()
	var pending [256]int // by class: the ones of es already checked
	for i := range es {
		if err := x.check(&es[i], ns, anyMaster, pending[es[i].Class]); err != nil {
			return err
		}
		pending[es[i].Class]++
	}
	for i := range es {
		x.insert(master, &es[i], ns)
	}
	return nil
}

// prepareExpectation fills in what Expect takes from the master, and
// validates e.
func prepareExpectation(master *Result, e *Expectation) error {
	if master == nil || !master.Tracked() {
		return ErrNoMaster
	}
	switch {
	case master.isNew:
		e.Master, e.MasterReply = master.pending.tuple[Original], master.pending.tuple[Reply]
	case master.ref.shard != nil:
		e.Master, e.MasterReply = master.Tuple(Original), master.Tuple(Reply)
	default:
		return ErrNoMaster
	}
	if e.Tuple.Family != packet.IPv4 && e.Tuple.Family != packet.IPv6 {
		return fmt.Errorf("%w: family %d", ErrBadExpectation, e.Tuple.Family)
	}
	if e.Mask&^(ExpectAnySrcAddr|ExpectAnySrcPort) != 0 {
		return fmt.Errorf("%w: only the source address and port may be wildcards", ErrBadExpectation)
	}
	e.Helper = master.Help.Helper
	if e.Helper != nil && e.Timeout <= 0 {
		e.Timeout = e.Helper.Policy(e.Class).Timeout
	}
	if e.Timeout <= 0 {
		e.Timeout = DefaultExpectTimeout
	}
	return nil
}

// check is __nf_ct_expect_check for e, with pending more of its class
// about to be registered with it. x.mu must be held.
func (x *expectTable) check(e *Expectation, ns int64, anyMaster bool, pending int) error {
	for _, o := range slices.Clone(x.expire(x.byDst[expectKeyOf(&e.Tuple)], ns)) {
		if (anyMaster || o.Master == e.Master) && o.same(e) {
			if o.Class != e.Class || o.Master != e.Master {
				return ErrExpectationExists
			}
			x.remove(o, ns)
			break
		}
		if o.clashes(e) {
			return ErrExpectationClash
		}
	}
	if e.Helper != nil {
		if max := e.Helper.Policy(e.Class).MaxExpected; max > 0 {
			// evict_oldest_expect: the oldest of the class goes, once, if
			// the master still has its fill after the expired ones went.
			var mine []*expectation
			for _, o := range x.expire(x.byMaster[e.Master], ns) {
				if o.Class == e.Class {
					mine = append(mine, o)
				}
			}
			if len(mine) > 0 && len(mine)+pending >= max {
				x.remove(slices.MinFunc(mine, func(a, b *expectation) int { return int(a.seq - b.seq) }), ns)
			}
		}
	}
	if x.n+pending >= x.max {
		for _, l := range x.byDst {
			x.expire(l, ns)
		}
		if x.n+pending >= x.max {
			return ErrExpectTableFull
		}
	}
	return nil
}

// insert registers a checked expectation. x.mu must be held.
func (x *expectTable) insert(master *Result, e *Expectation, ns int64) {
	x.add(&expectation{Expectation: *e, mark: master.Mark, deadline: ns + int64(e.Timeout), unconfirmed: master.isNew}, ns)
	if master.isNew {
		master.madeExpectations = true
	}
}

// add stores n and reports it. x.mu must be held.
func (x *expectTable) add(n *expectation, ns int64) {
	x.seq++
	n.seq = x.seq
	e := &n.Expectation
	k := expectKeyOf(&e.Tuple)
	x.byDst[k] = append(x.byDst[k], n)
	x.byMaster[e.Master] = append(x.byMaster[e.Master], n)
	x.n++
	x.hooks.Add(hookExpectation)
	x.events.emitExpect(EventNew, n, ns)
}

// FindExpectation returns the live expectation a new connection with
// original tuple tp would match (__nf_ct_expect_find, which SIP uses to
// see whether another call expects the same media), inactive ones
// included.
func (t *Table) FindExpectation(tp Tuple, now time.Time) (Expectation, bool) {
	x := &t.ext.expect
	ns := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.find(&tp, ns)
	if e == nil {
		return Expectation{}, false
	}
	out := e.Expectation
	out.Timeout = time.Duration(e.deadline - ns)
	return out, true
}

// find returns the first live expectation, of any master and active or
// not, that a new connection with original tuple tp would match
// (__nf_ct_expect_find), nil if none does. x.mu must be held.
func (x *expectTable) find(tp *Tuple, now int64) *expectation {
	for _, e := range x.expire(x.byDst[expectKeyOf(tp)], now) {
		if e.matches(tp) {
			return e
		}
	}
	return nil
}

// UnexpectTuple removes the live expectation a new connection with
// original tuple tp would match, of any master, inactive ones included
// (nf_ct_expect_find_get, then nf_ct_unexpect_related): PPTP takes back
// the other direction's expectation of a call once one has been used.
// It reports whether it removed one.
func (t *Table) UnexpectTuple(tp Tuple, now time.Time) bool {
	x := &t.ext.expect
	ns := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.find(&tp, ns)
	if e != nil {
		x.remove(e, ns)
	}
	return e != nil
}

// masterOf returns the original tuple of r's connection.
func masterOf(r *Result) Tuple {
	if r.isNew {
		return r.pending.tuple[Original]
	}
	return r.Tuple(Original)
}

// RefreshExpectation finds, newest first, the first expectation of r's
// connection for which match reports true, gives it timeout from now on
// and clears its INACTIVE flag, as SIP does when a registrar accepts a
// registration (refresh_signalling_expectation). It reports whether it
// found one.
func (t *Table) RefreshExpectation(r *Result, match func(*Expectation) bool, timeout time.Duration, now time.Time) bool {
	x := &t.ext.expect
	ns := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.expire(x.byMaster[masterOf(r)], ns)
	for i := len(l) - 1; i >= 0; i-- {
		e := l[i]
		if match(&e.Expectation) {
			e.deadline = ns + int64(timeout)
			e.Flags &^= ExpectInactive
			return true
		}
	}
	return false
}

// RemoveExpectations removes, newest first, the expectations of r's
// connection for which match reports true, all of them or only the
// first (flush_expectations).
func (t *Table) RemoveExpectations(r *Result, match func(*Expectation) bool, all bool, now time.Time) {
	x := &t.ext.expect
	ns := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	l := slices.Clone(x.byMaster[masterOf(r)])
	for i := len(l) - 1; i >= 0; i-- {
		if e := l[i]; match(&e.Expectation) {
			x.remove(e, ns)
			if !all {
				return
			}
		}
	}
}

// Unexpect removes the master's expectation of tuple e.Tuple with mask
// e.Mask, if it is still there (nf_ct_unexpect_related): a NAT helper
// that registered it and then failed to rewrite the packet takes it
// back. It reports whether it removed one.
func (t *Table) Unexpect(master *Result, e Expectation, now time.Time) bool {
	orig := masterOf(master)
	x := &t.ext.expect
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, o := range x.byMaster[orig] {
		if o.same(&e) {
			x.remove(o, now.UnixNano())
			return true
		}
	}
	return false
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

// MasterExpectations returns the live expectations of the connection
// whose original tuple is master, oldest first, with the time each has
// left: what a NAT helper consults to translate a port it gave out
// earlier.
func (t *Table) MasterExpectations(master Tuple, now time.Time) []Expectation {
	x := &t.ext.expect
	ns := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	live := x.expire(x.byMaster[master], ns)
	out := make([]Expectation, len(live))
	for i, e := range live {
		out[i] = e.Expectation
		out[i].Timeout = time.Duration(e.deadline - ns)
	}
	return out
}

// Expected returns the expectation that created the packet's new
// connection (a copy, as it was), for the NAT that follows its master.
func (r *Result) Expected() (*Expectation, bool) {
	if !r.fromExpectation {
		return nil, false
	}
	return &r.expected, true
}

// matchExpectation is init_conntrack's expectation lookup for a new
// connection e whose first packet the tracker accepted: if it is
// expected (by an active expectation of a confirmed master), it becomes
// RELATED to the master (EXPECTED set, the master's mark copied, the
// master's helper kept for -m helper, and the expectation's helper, if
// any, attached), r records the expectation, and the expectation is used
// up unless it is permanent. With no expectation anywhere it is one
// atomic load.
//
// Like the kernel, it uses the expectation up even if the packet is
// later dropped and the connection never confirmed.
func (t *Table) matchExpectation(r *Result, e *entry, now int64) {
	x := &t.ext
	if x.hooks.Load()&hookExpectMask == 0 {
		return
	}
	xt := &x.expect
	xt.mu.Lock()
	defer xt.mu.Unlock()
	tp := &e.tuple[Original]
	for _, exp := range xt.expire(xt.byDst[expectKeyOf(tp)], now) {
		if exp.Flags&ExpectInactive != 0 || exp.unconfirmed || !exp.matches(tp) {
			continue
		}
		if exp.Flags&ExpectPermanent == 0 {
			xt.remove(exp, now)
		}
		e.status |= StatusExpected
		e.mark = exp.mark
		e.ext.master, e.ext.masterOf = exp.Helper, exp.Master
		if exp.AssignHelper != nil {
			e.ext.help.Helper = exp.AssignHelper
			e.status |= StatusHelper
		}
		r.expected, r.fromExpectation = exp.Expectation, true
		r.expected.Timeout = time.Duration(exp.deadline - now)
		return
	}
}

// KernelMask returns the expectation's source mask as the kernel keeps
// it (struct nf_conntrack_tuple_mask): the address bits and the port
// compared, from Mask and SrcBits. The destination is always compared
// in full.
func (e *Expectation) KernelMask() (addr [16]byte, port uint16) {
	n := 4
	if e.Tuple.Family == packet.IPv6 {
		n = 16
	}
	bits := n * 8
	if e.Mask&ExpectAnySrcAddr != 0 {
		bits = 0
	} else if e.SrcBits != 0 {
		bits = int(e.SrcBits)
	}
	for i := range n {
		switch left := bits - 8*i; {
		case left >= 8:
			addr[i] = 0xff
		case left > 0:
			addr[i] = byte(0xff << (8 - left))
		}
	}
	if e.Mask&ExpectAnySrcPort == 0 {
		port = 0xffff
	}
	return addr, port
}

// SetKernelMask sets Mask and SrcBits from a kernel source mask (see
// KernelMask). The address mask counts its leading ones.
func (e *Expectation) SetKernelMask(addr [16]byte, port uint16) {
	n := 4
	if e.Tuple.Family == packet.IPv6 {
		n = 16
	}
	bits := 0
	for i := range n {
		for m := addr[i]; m&0x80 != 0; m <<= 1 {
			bits++
		}
		if addr[i] != 0xff {
			break
		}
	}
	e.Mask &^= ExpectAnySrcAddr | ExpectAnySrcPort
	e.SrcBits = 0
	switch {
	case bits == 0:
		e.Mask |= ExpectAnySrcAddr
	case bits < n*8:
		e.SrcBits = uint8(bits)
	}
	if port == 0 {
		e.Mask |= ExpectAnySrcPort
	}
}
