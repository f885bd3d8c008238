package ctsync

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// track runs one packet through a table's conntrack, as PREROUTING and
// its confirmation do, and returns the result.
func track(t *testing.T, tb *conntrack.Table, s testpkt.Spec, now time.Time) conntrack.Result {
	t.Helper()
	var p packet.Packet
	p.Decode(testpkt.Build(s))
	var r conntrack.Result
	tb.In(&r, &p, 0, now, true)
	if !tb.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	return r
}

// loopbackPeers runs two nfgo peers on 127.0.0.1, a's changes tapped
// from table a, b's received connections applied by apply.
func loopbackPeers(t *testing.T, a *conntrack.Table, apply func([]Received)) (pa, pb *Peer) {
	t.Helper()
	pa, pb = peerPair(t, 0, apply)
	stop, _ := Tap(a, pa, 1024, nil)
	t.Cleanup(stop)
	return pa, pb
}

// TestStandbyTakesOverEstablishedConnection: connections tracked on the
// active node reach the standby's external cache, match nothing there,
// and after the commit the standby carries an established connection on
// from the middle of its stream.
func TestStandbyTakesOverEstablishedConnection(t *testing.T) {
	now := time.Now()
	active, standby := conntrack.NewTable(conntrack.Config{}), conntrack.NewTable(conntrack.Config{})
	ext := NewExternalCache(0)
	loopbackPeers(t, active, func(rs []Received) { ext.Apply(rs, time.Now()) })
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	syn := testpkt.Spec{Src: cli, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 100}
	synack := testpkt.Spec{Src: srv, Dst: cli, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: "SA", Seq: 500, Ack: 101}
	ack := testpkt.Spec{Src: cli, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}
	for _, s := range []testpkt.Spec{syn, synack, ack} {
		track(t, active, s, now)
	}
	udp := testpkt.Spec{Src: cli, Dst: srv, Proto: "udp", SrcPort: 5353, DstPort: 53, Payload: []byte("q")}
	track(t, active, udp, now)
	kernel.WaitFor(t, "the standby's cache", func() bool {
		for c := range ext.All(time.Now()) {
			if c.Orig.Proto == packet.ProtoTCP && c.TCPState == conntrack.TCPEstablished {
				return ext.Len() == 2
			}
		}
		return false
	})
	if standby.Len() != 0 {
		t.Fatalf("the external cache leaked %d connections into the table", standby.Len())
	}
	if n, err := ext.Commit(standby, time.Now()); n != 2 || err != nil {
		t.Fatalf("commit: %d, %v", n, err)
	}
	mid := testpkt.Spec{Src: cli, Dst: srv, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 90101, Ack: 40501, Payload: []byte("later")}
	if r := track(t, standby, mid, time.Now()); r.State != conntrack.Established || r.TCPState != conntrack.TCPEstablished {
		t.Errorf("on the standby a mid-stream packet is %v %v, want ESTABLISHED", r.State, r.TCPState)
	}
	// The UDP connection came over too.
	if c, _, ok := standby.Get(mustTuple(t, udp), time.Now()); !ok || c.Status&conntrack.StatusConfirmed == 0 {
		t.Errorf("UDP connection after the commit: %v %v", c, ok)
	}
}

func TestDeletionsReachTheStandby(t *testing.T) {
	now := time.Now()
	active := conntrack.NewTable(conntrack.Config{})
	ext := NewExternalCache(0)
	loopbackPeers(t, active, func(rs []Received) { ext.Apply(rs, time.Now()) })
	udp := testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: "udp", SrcPort: 5353, DstPort: 53, Payload: []byte("q")}
	track(t, active, udp, now)
	kernel.WaitFor(t, "the standby's cache", func() bool { return ext.Len() == 1 })
	active.Delete(mustTuple(t, udp), now)
	kernel.WaitFor(t, "the deletion", func() bool { return ext.Len() == 0 })
}

func TestExternalCacheIsBounded(t *testing.T) {
	x := NewExternalCache(2)
	for i := range 3 {
		x.Apply([]Received{{Type: TypeNew, Conn: *testConn(i, 1)}}, t0)
	}
	if x.Len() != 2 || x.Dropped() != 1 {
		t.Errorf("len %d dropped %d, want 2 and 1", x.Len(), x.Dropped())
	}
	x.Apply([]Received{{Type: TypeUpdate, Conn: *testConn(0, 2)}}, t0)
	if x.Dropped() != 1 {
		t.Errorf("an update of a cached connection was refused")
	}
}

func TestCommitGivesTheTimeLeft(t *testing.T) {
	x := NewExternalCache(0)
	x.Apply([]Received{{Type: TypeNew, Conn: *testConn(1, 1)}}, t0) // 60 s timeout
	tb := conntrack.NewTable(conntrack.Config{})
	if n, err := x.Commit(tb, t0.Add(20*time.Second)); n != 1 || err != nil {
		t.Fatalf("commit: %d %v", n, err)
	}
	c, _, _ := tb.Get(testConn(1, 1).Orig, t0.Add(20*time.Second))
	if c.Timeout > 41*time.Second || c.Timeout < 39*time.Second {
		t.Errorf("timeout %v, want the 40 s left", c.Timeout)
	}
	// Past its timeout it may still be alive (no refresh is sent):
	// conntrackd commits it with 60 s.
	x.Apply([]Received{{Type: TypeNew, Conn: *testConn(2, 1)}}, t0)
	late := t0.Add(2 * time.Minute)
	if n, err := x.Commit(tb, late); n != 1 || err != nil {
		t.Fatalf("commit after the timeout: %d %v", n, err)
	}
	if c, _, _ := tb.Get(testConn(2, 1).Orig, late); (c.Timeout - 60*time.Second).Abs() > time.Second {
		t.Errorf("timeout %v after the time ran out, want conntrackd's 60 s", c.Timeout)
	}
	// CommitTimeout gives every connection the same.
	x.SetCommitTimeout(7 * time.Second)
	x.Apply([]Received{{Type: TypeNew, Conn: *testConn(3, 1)}}, t0)
	if n, err := x.Commit(tb, late); n != 1 || err != nil {
		t.Fatalf("commit with CommitTimeout: %d %v", n, err)
	}
	if c, _, _ := tb.Get(testConn(3, 1).Orig, late); (c.Timeout - 7*time.Second).Abs() > time.Second {
		t.Errorf("timeout %v with CommitTimeout 7 s", c.Timeout)
	}
}

func mustTuple(t *testing.T, s testpkt.Spec) conntrack.Tuple {
	t.Helper()
	var p packet.Packet
	p.Decode(testpkt.Build(s))
	tp, ok := conntrack.TupleOf(&p, 0)
	if !ok {
		t.Fatal("no tuple")
	}
	return tp
}

// TestAdoptedConnectionsAreNotSentBack: what a node took from its peer
// (or the kernel) is not replicated to the peer again.
func TestAdoptedConnectionsAreNotSentBack(t *testing.T) {
	tb := conntrack.NewTable(conntrack.Config{})
	var mu sync.Mutex
	var got []Received
	loopbackPeers(t, tb, func(rs []Received) { mu.Lock(); got = append(got, rs...); mu.Unlock() })
	k, _ := testConn(1, 1).ToConn()
	if err := tb.Adopt(k, time.Now()); err != nil {
		t.Fatal(err)
	}
	udp := testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: "udp", SrcPort: 5353, DstPort: 53, Payload: []byte("q")}
	track(t, tb, udp, time.Now())
	kernel.WaitFor(t, "the tracked connection", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		if r.Conn.Orig == k.Orig {
			t.Errorf("the adopted connection was sent back: %v %v", r.Type, r.Conn.Orig)
		}
	}
}
