package conntrack

import (
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// snat runs a NEW UDP packet and gives its connection a source-NATed
// reply, as the nat table's SNAT does, then confirms it.
func snat(t *testing.T, tb *Table, spec Tuple, public [4]byte, port uint16) Result {
	t.Helper()
	var r Result
	tb.In(&r, pkt(t, udp(spec.SrcAddr().String(), spec.DstAddr().String(), spec.SrcPort, spec.DstPort)), 0, t0, true)
	if !r.Pending() {
		t.Fatalf("first packet not pending: %v", r.State)
	}
	reply := r.Tuple(Reply)
	copy(reply.Dst[:4], public[:])
	reply.DstPort = port
	if !tb.SetReply(&r, reply, StatusSrcNAT|StatusSrcNATDone) {
		t.Fatalf("SetReply %v refused", reply)
	}
	if !tb.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	return r
}

func TestNATedReplyTupleFindsTheConnection(t *testing.T) {
	tb := NewTable(Config{})
	orig := Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53}
	copy(orig.Src[:], []byte{10, 0, 0, 5})
	copy(orig.Dst[:], []byte{8, 8, 8, 8})
	snat(t, tb, orig, [4]byte{203, 0, 113, 1}, 61000)

	// The server answers the public address: that is the reply.
	r := step(t, tb, pkt(t, udp("8.8.8.8", "203.0.113.1", 53, 61000)), t0.Add(time.Second))
	if r.State != Established || r.Dir != Reply {
		t.Fatalf("answer to the public address: %v %v, want ESTABLISHED reply", r.State, r.Dir)
	}
	if got := r.Tuple(Original); got != orig {
		t.Errorf("original tuple via the reply: got %v, want %v", got, orig)
	}
	// An answer to the private address is not part of the connection.
	r = step(t, tb, pkt(t, udp("8.8.8.8", "10.0.0.5", 53, 5000)), t0.Add(time.Second))
	if r.State != New || r.Dir != Original {
		t.Errorf("answer to the private address: %v %v, want a NEW connection", r.State, r.Dir)
	}
	// The original direction still works, and the listing shows the
	// NATed reply.
	if r := step(t, tb, pkt(t, udp("10.0.0.5", "8.8.8.8", 5000, 53)), t0.Add(time.Second)); r.State != Established || r.Dir != Original {
		t.Errorf("original direction: %v %v", r.State, r.Dir)
	}
	found := false
	for c := range tb.All(t0.Add(time.Second)) {
		if c.Orig == orig {
			found = c.Reply.DstPort == 61000 && c.Status&StatusSrcNAT != 0
		}
	}
	if !found {
		t.Error("the listing lacks the NATed reply")
	}
	// The public tuple is taken; the bysource chain knows the mapping.
	if !tb.Taken(r.Tuple(Reply), t0) {
		t.Error("Taken: the reply tuple is free")
	}
	reply, _, _ := tb.Get(orig, t0)
	if got, ok := tb.SourceMapping(orig, 0); !ok || got != reply.Reply {
		t.Errorf("SourceMapping: %v %v, want %v", got, ok, reply.Reply)
	}
	// Expiry removes the NAT index entries too.
	tb.Collect(t0.Add(time.Hour), shardCount)
	if tb.Len() != 0 || tb.nat.n.Load() != 0 {
		t.Errorf("after expiry: %d entries, %d NAT index entries", tb.Len(), tb.nat.n.Load())
	}
	if _, ok := tb.SourceMapping(orig, 0); ok {
		t.Error("SourceMapping survives the connection")
	}
}

func TestICMPErrorAboutANATedConnectionIsRelated(t *testing.T) {
	tb := NewTable(Config{})
	orig := Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 33434}
	copy(orig.Src[:], []byte{10, 0, 0, 5})
	copy(orig.Dst[:], []byte{198, 51, 100, 9})
	snat(t, tb, orig, [4]byte{203, 0, 113, 1}, 61001)
	// The far end saw the translated packet and complains about it.
	inner := testpktUDP("203.0.113.1", "198.51.100.9", 61001, 33434)
	r := step(t, tb, icmpError(t, "198.51.100.9", "203.0.113.1", inner), t0)
	if r.State != Related || r.Dir != Reply {
		t.Errorf("ICMP error: %v %v (%s), want RELATED reply", r.State, r.Dir, r.Reason)
	}
}

func testpktUDP(src, dst string, sport, dport uint16) []byte {
	return testpkt.Build(udp(src, dst, sport, dport))
}

func icmpError(t *testing.T, src, dst string, inner []byte) *packet.Packet {
	return pkt(t, testpkt.Spec{Src: a(src), Dst: a(dst), Proto: "icmp", ICMPType: 3, ICMPCode: 3, Payload: inner})
}

func TestOriginalDirectionOfANATedConnectionSeesTheReplyTuple(t *testing.T) {
	tb := NewTable(Config{})
	orig := Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53}
	copy(orig.Src[:], []byte{10, 0, 0, 5})
	copy(orig.Dst[:], []byte{8, 8, 8, 8})
	first := snat(t, tb, orig, [4]byte{203, 0, 113, 1}, 61000)
	r := step(t, tb, pkt(t, udp("10.0.0.5", "8.8.8.8", 5000, 53)), t0)
	if got, want := r.Tuple(Reply), first.Tuple(Reply); got != want {
		t.Errorf("reply tuple seen by an original-direction packet: %v, want %v", got, want)
	}
}

// TestReservedReplyTuplesCannotBeChosenTwice plays two first packets of
// different flows handled at once, both wanting the same public tuple:
// the kernel lets both choose it and drops the second at confirmation;
// nfgo's reservation makes the second choose again.
// TestReservedReplyTuplesCannotBeChosenTwice: the binding that
// completes a connection's NAT (here the source binding after a null
// destination one) reserves its reply tuple until the connection is
// confirmed or abandoned.
func TestReservedReplyTuplesCannotBeChosenTwice(t *testing.T) {
	const complete = StatusSrcNAT | StatusSrcNATDone | StatusDstNATDone
	tb := NewTable(Config{})
	var r1, r2 Result
	tb.In(&r1, pkt(t, udp("10.0.0.5", "8.8.8.8", 5000, 53)), 0, t0, true)
	tb.In(&r2, pkt(t, udp("10.0.0.6", "8.8.8.8", 5000, 53)), 0, t0, true)
	public := func(r *Result) Tuple {
		reply := r.Tuple(Reply)
		copy(reply.Dst[:4], []byte{203, 0, 113, 1})
		return reply
	}
	if tb.Taken(public(&r1), t0) {
		t.Fatal("public tuple taken before anyone chose it")
	}
	if !tb.SetReply(&r1, public(&r1), complete) {
		t.Fatal("first SetReply refused")
	}
	// Unconfirmed, the first connection's choice is already taken.
	if !tb.Taken(public(&r2), t0) {
		t.Error("Taken: a reserved reply tuple is free")
	}
	if tb.SetReply(&r2, public(&r2), complete) {
		t.Fatal("second SetReply of the same reply tuple accepted")
	}
	// The first packet is dropped after all: its reservation goes.
	tb.Abandon(&r1)
	if tb.Taken(public(&r2), t0) {
		t.Error("Taken: an abandoned reservation still holds the tuple")
	}
	if !tb.SetReply(&r2, public(&r2), complete) || !tb.Confirm(&r2) {
		t.Fatal("second connection could not take the freed tuple")
	}
	tb.Confirm(&r1)
	if tb.Len() != 1 {
		t.Errorf("after confirming an abandoned connection: %d entries, want 1", tb.Len())
	}
	// A reservation given up by Reset does not leak either.
	var r3 Result
	tb.In(&r3, pkt(t, udp("10.0.0.7", "8.8.8.8", 5000, 53)), 0, t0, true)
	other := public(&r3)
	other.DstPort = 61000
	if !tb.SetReply(&r3, other, complete) {
		t.Fatal("SetReply refused")
	}
	r3.Reset()
	if tb.Taken(other, t0) || tb.nat.n.Load() != 1 {
		t.Errorf("after Reset: taken %v, %d NAT index entries (want the one confirmed)", tb.Taken(other, t0), tb.nat.n.Load())
	}
}

// TestNATedReplyLookupWaitsOutARemoval looks a NATed connection up by
// its reply tuple while its shard is locked, so that the lookup must let
// go of the NAT index and wait: it must then find the connection if it
// is still there, and not find it if it was removed meanwhile (its slot
// may already hold another connection).
func TestNATedReplyLookupWaitsOutARemoval(t *testing.T) {
	for _, removed := range []bool{false, true} {
		orig := Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, SrcPort: 5000, DstPort: 53}
		copy(orig.Src[:], []byte{10, 0, 0, 5})
		copy(orig.Dst[:], []byte{8, 8, 8, 8})
		var tb *Table
		var reply Tuple
		// The lookup's first probe, by the reply tuple, locks that
		// tuple's shard: it must not be the connection's, which the
		// test holds. Each table has its own hash seed.
		for {
			tb = NewTable(Config{})
			r := snat(t, tb, orig, [4]byte{203, 0, 113, 1}, 61000)
			if reply = r.Tuple(Reply); tb.probeOf(&reply).s != tb.probeOf(&orig).s {
				break
			}
		}
		ns := t0.Add(time.Second).UnixNano()

		var held located
		if !tb.locate(&held, &orig, ns) {
			t.Fatal("the connection is not there")
		}
		waiting := make(chan struct{})
		lockNATedWaits = func() { close(waiting) }
		type result struct {
			found bool
			other Tuple
		}
		done := make(chan result)
		go func() {
			var loc located
			found := tb.locate(&loc, &reply, ns)
			if found {
				loc.s.mu.Unlock()
			}
			done <- result{found, loc.other}
		}()
		<-waiting
		lockNATedWaits = nil
		if removed {
			tb.remove(held.s, held.kind, held.slot, ns)
		}
		held.s.mu.Unlock()
		got := <-done
		if got.found == removed || got.found && got.other != orig {
			t.Errorf("removed %v: found %v (original tuple %v), want found %v with %v", removed, got.found, got.other, !removed, orig)
		}
	}
}

// TestOnlyTheCompletingBindingReserves: a DNAT binding at PREROUTING
// reserves nothing (the kernel lets it clash, for the source binding to
// resolve); the source binding after it, a null one here, reserves the
// reply tuple, once, and confirmation turns the reservation into the
// connection's index entry.
func TestOnlyTheCompletingBindingReserves(t *testing.T) {
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, pkt(t, udp("198.51.100.9", "192.0.2.1", 5000, 53)), 0, t0, true)
	reply := r.Tuple(Reply)
	copy(reply.Src[:4], []byte{10, 0, 0, 53})
	if !tb.SetReply(&r, reply, StatusDstNAT|StatusDstNATDone) {
		t.Fatal("DNAT SetReply refused")
	}
	if tb.Taken(reply, t0) || tb.nat.n.Load() != 0 {
		t.Errorf("after the DNAT binding: taken %v, %d index entries; want free and 0", tb.Taken(reply, t0), tb.nat.n.Load())
	}
	if !tb.SetReply(&r, reply, StatusSrcNATDone) {
		t.Fatal("null source binding refused")
	}
	if !tb.Taken(reply, t0) || tb.nat.n.Load() != 1 {
		t.Errorf("after the source binding: taken %v, %d index entries; want taken and 1", tb.Taken(reply, t0), tb.nat.n.Load())
	}
	if !tb.Confirm(&r) || tb.nat.n.Load() != 1 {
		t.Errorf("after confirming: %d index entries, want 1", tb.nat.n.Load())
	}
}
