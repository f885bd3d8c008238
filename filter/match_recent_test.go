package filter

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// recentRules binds the matches to one Objects, as one ruleset's rules
// are bound, and returns them bound.
func recentRules(t *testing.T, objs *Objects, ms ...*RecentMatch) []*RecentMatch {
	t.Helper()
	b := &Binding{objs: objs, family: packet.IPv4}
	out := make([]*RecentMatch, len(ms))
	for i, m := range ms {
		if err := m.CheckRule(nil, Site{}); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		x, err := m.Bind(b)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = x.(*RecentMatch)
	}
	return out
}

// recentPkt is a UDP packet from src at start+at.
func recentPkt(t *testing.T, src string, ttl uint8, at time.Duration) *Context {
	c := matchCtx(matchPkt{src: src, dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, ttl: ttl}.decode(t))
	c.Now = c.Now.Add(at)
	return c
}

// TestRecentBruteForcePattern is the classic SSH rule pair: drop a
// source's fourth packet within a minute, and let it in again once its
// packets are older than the window.
func TestRecentBruteForcePattern(t *testing.T) {
	objs := &Objects{}
	ms := recentRules(t, objs,
		&RecentMatch{ListName: "ssh", Command: RecentUpdate, Seconds: 60, HitCount: 3},
		&RecentMatch{ListName: "ssh", Command: RecentSet})
	drop := func(c *Context) bool {
		if ms[0].Match(c) {
			return true
		}
		ms[1].Match(c)
		return false
	}
	for i, tt := range []struct {
		src  string
		at   time.Duration
		drop bool
	}{
		{"10.0.0.1", 0, false},
		{"10.0.0.1", time.Second, false},
		{"10.0.0.9", time.Second, false},
		{"10.0.0.1", 2 * time.Second, false},
		{"10.0.0.1", 3 * time.Second, true},
		// Dropped packets are recorded by --update: still over.
		{"10.0.0.1", 50 * time.Second, true},
		// 63 s: the packets at 3 s and 50 s are within 60 s, the
		// three first ones not, so only two hits.
		{"10.0.0.1", 63 * time.Second, false},
		{"10.0.0.9", 63 * time.Second, false},
	} {
		if got := drop(recentPkt(t, tt.src, 0, tt.at)); got != tt.drop {
			t.Errorf("packet %d (%s at %v): dropped %v, want %v", i, tt.src, tt.at, got, tt.drop)
		}
	}
}

func TestRecentCommands(t *testing.T) {
	objs := &Objects{}
	mask := netip.MustParseAddr("255.255.255.0")
	ms := recentRules(t, objs,
		&RecentMatch{ListName: "l", Command: RecentSet, Mask: mask},
		&RecentMatch{ListName: "l", Command: RecentCheck},
		&RecentMatch{ListName: "l", Command: RecentRemove},
		&RecentMatch{ListName: "l", Command: RecentCheck, Invert: true},
		&RecentMatch{ListName: "l", Command: RecentCheck, TTL: true},
		&RecentMatch{ListName: "l", Command: RecentSet, Invert: true},
	)
	set, check, remove, notIn, ttl, notSet := ms[0], ms[1], ms[2], ms[3], ms[4], ms[5]
	for i, tt := range []struct {
		m    *RecentMatch
		src  string
		ttl  uint8
		want bool
	}{
		{check, "10.0.0.1", 0, false},
		{notIn, "10.0.0.1", 0, true},
		{set, "10.0.0.1", 40, true},
		// The list keeps the /24 of the rule that created it.
		{check, "10.0.0.77", 0, true},
		{check, "10.0.1.1", 0, false},
		{notIn, "10.0.0.1", 0, false},
		{ttl, "10.0.0.3", 40, true},
		{ttl, "10.0.0.3", 41, false},
		{remove, "10.0.0.200", 0, true},
		{remove, "10.0.0.200", 0, false},
		{check, "10.0.0.1", 0, false},
		// ! --set adds the address but does not match.
		{notSet, "10.0.5.1", 0, false},
		{check, "10.0.5.1", 0, true},
	} {
		if got := tt.m.Match(recentPkt(t, tt.src, tt.ttl, 0)); got != tt.want {
			t.Errorf("step %d (%s command %d invert %v from %s): %v, want %v", i, tt.m.ListName, tt.m.Command, tt.m.Invert, tt.src, got, tt.want)
		}
	}
}

// TestRecentForgetsTheLeastRecentlySeen: a list of size 3 drops the
// address seen longest ago, not the oldest entry.
func TestRecentForgetsTheLeastRecentlySeen(t *testing.T) {
	objs := &Objects{RecentListSize: 3}
	ms := recentRules(t, objs, &RecentMatch{ListName: "l", Command: RecentSet}, &RecentMatch{ListName: "l", Command: RecentCheck})
	for i, src := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.4"} {
		ms[0].Match(recentPkt(t, src, 0, time.Duration(i)*time.Second))
	}
	for src, want := range map[string]bool{"10.0.0.1": true, "10.0.0.2": false, "10.0.0.3": true, "10.0.0.4": true} {
		if got := ms[1].Match(recentPkt(t, src, 0, 10*time.Second)); got != want {
			t.Errorf("%s in the list: %v, want %v", src, got, want)
		}
	}
}

// TestRecentReap: --reap removes the least recently seen entry once its
// last packet is older than --seconds, so it no longer takes a place.
func TestRecentReap(t *testing.T) {
	objs := &Objects{}
	ms := recentRules(t, objs,
		&RecentMatch{ListName: "r", Command: RecentSet},
		&RecentMatch{ListName: "r", Command: RecentCheck, Seconds: 10, Reap: true})
	set, reap := ms[0], ms[1]
	set.Match(recentPkt(t, "10.0.0.1", 0, 0))
	set.Match(recentPkt(t, "10.0.0.2", 0, 5*time.Second))
	if reap.Match(recentPkt(t, "10.0.0.2", 0, 12*time.Second)) != true {
		t.Fatal("10.0.0.2, seen 7 s ago, does not match --seconds 10")
	}
	if n := len(set.list.Entries()); n != 1 {
		t.Errorf("after a reaping check at 12 s: %d entries, want 1 (10.0.0.1 last seen at 0 reaped)", n)
	}
}

// TestRecentLargerHitCountEmptiesTheList: loading a rule that needs more
// remembered packets than the list keeps empties it, as the kernel does;
// a rule needing fewer leaves it alone.
func TestRecentLargerHitCountEmptiesTheList(t *testing.T) {
	objs := &Objects{}
	set := recentRules(t, objs, &RecentMatch{ListName: "h", Command: RecentSet, HitCount: 0})[0]
	set.Match(recentPkt(t, "10.0.0.1", 0, 0))
	recentRules(t, objs, &RecentMatch{ListName: "h", Command: RecentCheck, HitCount: 20})
	if n := len(set.list.Entries()); n != 1 {
		t.Fatalf("a --hitcount 20 rule (32 packets kept already) left %d entries, want 1", n)
	}
	big := recentRules(t, objs, &RecentMatch{ListName: "h", Command: RecentCheck, HitCount: 100})[0]
	if n := len(set.list.Entries()); n != 0 {
		t.Fatalf("a --hitcount 100 rule left %d entries, want 0", n)
	}
	for i := range 100 {
		set.Match(recentPkt(t, "10.0.0.1", 0, time.Duration(i)*time.Millisecond))
	}
	if !big.Match(recentPkt(t, "10.0.0.1", 0, time.Second)) {
		t.Error("100 packets do not make --hitcount 100 match")
	}
}

func TestRecentSharedAcrossFamiliesAndReloads(t *testing.T) {
	objs := &Objects{}
	v4 := recentRules(t, objs, &RecentMatch{ListName: "s", Command: RecentSet})[0]
	b6 := &Binding{objs: objs, family: packet.IPv6}
	x, _ := (&RecentMatch{ListName: "s", Command: RecentCheck}).Bind(b6)
	if x.(*RecentMatch).list != v4.list {
		t.Fatal("IPv4 and IPv6 rules naming one list got two lists")
	}
	v4.Match(recentPkt(t, "10.0.0.1", 0, 0))
	again := recentRules(t, objs, &RecentMatch{ListName: "s", Command: RecentCheck})[0]
	if !again.Match(recentPkt(t, "10.0.0.1", 0, 0)) {
		t.Error("a rule bound again to the list does not see its address")
	}
}

func TestRecentCheckRuleRefusesWhatTheKernelRefuses(t *testing.T) {
	for _, m := range []*RecentMatch{
		{ListName: "x"},
		{ListName: "x", Command: RecentSet, Seconds: 5},
		{ListName: "x", Command: RecentRemove, HitCount: 3},
		{ListName: "x", Command: RecentCheck, Reap: true},
		{ListName: "x", Command: RecentCheck, HitCount: 65536},
		{ListName: "", Command: RecentCheck},
		{ListName: "..", Command: RecentCheck},
		{ListName: "a/b", Command: RecentCheck},
		{ListName: strings.Repeat("n", 200), Command: RecentCheck},
	} {
		if err := m.CheckRule(nil, Site{}); err == nil {
			t.Errorf("%+v: accepted, the kernel refuses it", m)
		}
	}
}

// TestRecentControl is /proc/net/xt_recent/NAME: written "+ADDR",
// "-ADDR" and "/", read back in the kernel's format.
func TestRecentControl(t *testing.T) {
	objs := &Objects{}
	check := recentRules(t, objs, &RecentMatch{ListName: "c", Command: RecentCheck})[0]
	l := check.list
	now := time.UnixMilli(5000)
	for _, line := range []string{"+10.0.0.1\n", "+2001:db8::1", "+10.0.0.1"} {
		if err := l.Control(line, now); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	var b strings.Builder
	if _, err := l.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "src=2001:db8::1 ttl: 0 last_seen: 5000 oldest_pkt: 1 5000\n" +
		"src=10.0.0.1 ttl: 0 last_seen: 5000 oldest_pkt: 2 5000, 5000\n"
	if b.String() != want {
		t.Errorf("list reads\n%s\nwant\n%s", b.String(), want)
	}
	if !check.Match(recentPkt(t, "10.0.0.1", 0, 0)) {
		t.Error("an address written to the list does not match")
	}
	for _, bad := range []string{"10.0.0.1", "+10.0.0", "+fe80::1%eth0", ""} {
		if err := l.Control(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := l.Control("-10.0.0.1", now); err != nil || check.Match(recentPkt(t, "10.0.0.1", 0, 0)) {
		t.Errorf("-10.0.0.1: err %v, still listed %v", err, check.Match(recentPkt(t, "10.0.0.1", 0, 0)))
	}
	if err := l.Control("/", now); err != nil || len(l.Entries()) != 0 {
		t.Errorf("/: err %v, %d entries left", err, len(l.Entries()))
	}
}

// TestRecentForwardedTTL: at a hook with an output interface, a packet
// the host did not send is seen with the TTL it had before forwarding.
func TestRecentForwardedTTL(t *testing.T) {
	objs := &Objects{}
	ms := recentRules(t, objs, &RecentMatch{ListName: "f", Command: RecentSet}, &RecentMatch{ListName: "f", Command: RecentCheck, TTL: true})
	ms[0].Match(recentPkt(t, "10.0.0.1", 64, 0))
	c := recentPkt(t, "10.0.0.1", 63, 0)
	c.Hook, c.Out = Forward, "eth1"
	if !ms[1].Match(c) {
		t.Error("a forwarded packet with TTL 63 does not match the entry set at TTL 64")
	}
}

func TestRecentDoesNotAllocate(t *testing.T) {
	objs := &Objects{RecentListSize: 4}
	ms := recentRules(t, objs,
		&RecentMatch{ListName: "a", Command: RecentUpdate, Seconds: 10, HitCount: 2, Reap: true},
		&RecentMatch{ListName: "a", Command: RecentSet})
	var ctxs []*Context
	for _, src := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"} {
		ctxs = append(ctxs, recentPkt(t, src, 0, 0))
	}
	// Warm up: the list holds its 4 entries; from then on entries are
	// recycled.
	for _, c := range ctxs {
		ms[1].Match(c)
	}
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		c := ctxs[i%len(ctxs)]
		i++
		ms[0].Match(c)
		ms[1].Match(c)
	}); n != 0 {
		t.Errorf("recent allocates %v times per packet", n)
	}
}
