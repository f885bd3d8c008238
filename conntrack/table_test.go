package conntrack

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

var (
	a  = netip.MustParseAddr
	t0 = time.Unix(1_700_000_000, 0)
)

func pkt(t testing.TB, s testpkt.Spec) *packet.Packet {
	t.Helper()
	var p packet.Packet
	p.Decode(testpkt.Build(s))
	if p.Invalid != packet.OK {
		t.Fatalf("bad test packet: %v", p.Invalid)
	}
	return &p
}

// step runs one packet through In and, unless it is dropped by the
// caller, Confirm, as the engine does for an accepted packet.
func step(t *testing.T, tb *Table, p *packet.Packet, at time.Time) Result {
	t.Helper()
	var r Result
	tb.In(&r, p, 0, at, true)
	if !tb.Confirm(&r) {
		t.Fatalf("confirm failed")
	}
	return r
}

func udp(src, dst string, sport, dport uint16) testpkt.Spec {
	return testpkt.Spec{Src: a(src), Dst: a(dst), Proto: "udp", SrcPort: sport, DstPort: dport}
}

func TestUDPRequestReplyAndStreamTimeouts(t *testing.T) {
	tb := NewTable(Config{})
	req, resp := udp("10.0.0.1", "10.0.0.2", 1000, 53), udp("10.0.0.2", "10.0.0.1", 53, 1000)
	steps := []struct {
		spec    testpkt.Spec
		after   time.Duration
		state   State
		dir     Dir
		assured bool
		timeout time.Duration
	}{
		{req, 0, New, Original, false, 30 * time.Second},
		{req, time.Second, New, Original, false, 30 * time.Second},
		{resp, 1500 * time.Millisecond, Established, Reply, false, 30 * time.Second},
		// Replied, but younger than 2 s: still the unreplied timeout.
		{req, 1900 * time.Millisecond, Established, Original, false, 30 * time.Second},
		// Older than 2 s: a stream, ASSURED, 120 s.
		{resp, 2500 * time.Millisecond, Established, Reply, true, 120 * time.Second},
	}
	for i, s := range steps {
		now := t0.Add(s.after)
		r := step(t, tb, pkt(t, s.spec), now)
		if r.State != s.state || r.Dir != s.dir || (r.Status&StatusAssured != 0) != s.assured {
			t.Errorf("step %d: got %v %v status %v, want %v %v assured=%v", i, r.State, r.Dir, r.Status, s.state, s.dir, s.assured)
		}
		var c Conn
		for c = range tb.All(now) {
		}
		if !within(c.Timeout, s.timeout) {
			t.Errorf("step %d: timeout %v, want %v", i, c.Timeout, s.timeout)
		}
	}
	if tb.Len() != 1 {
		t.Errorf("table has %d entries, want 1", tb.Len())
	}
}

func TestEntriesExpireAndAreReaped(t *testing.T) {
	tb := NewTable(Config{})
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0)
	r := step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0.Add(29*time.Second))
	if r.State != New {
		t.Fatalf("within the timeout: %v, want NEW (same entry, unreplied)", r.State)
	}
	// 30 s after the last packet the entry is gone: a reply is NEW.
	r = step(t, tb, pkt(t, udp("10.0.0.2", "10.0.0.1", 53, 1000)), t0.Add(60*time.Second))
	if r.State != New || r.Dir != Original {
		t.Errorf("after expiry a reply starts a new connection: got %v %v", r.State, r.Dir)
	}
	if n := tb.Collect(t0.Add(time.Hour), shardCount); n != 1 || tb.Len() != 0 {
		t.Errorf("Collect removed %d, %d left; want 1 and 0", n, tb.Len())
	}
}

func TestUnconfirmedEntriesLeaveNoTrace(t *testing.T) {
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), 0, t0, true)
	if r.State != New {
		t.Fatalf("got %v, want NEW", r.State)
	}
	// The packet was dropped: no Confirm. The table is empty and the next
	// packet is NEW again.
	if tb.Len() != 0 {
		t.Errorf("an unconfirmed entry is in the table")
	}
	tb.In(&r, pkt(t, udp("10.0.0.2", "10.0.0.1", 53, 1000)), 0, t0, true)
	if r.State != New || r.Dir != Original {
		t.Errorf("got %v %v, want NEW original", r.State, r.Dir)
	}
}

func TestICMPEchoAndErrorsAreRelated(t *testing.T) {
	tb := NewTable(Config{})
	echo := testpkt.Spec{Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: "icmp", ICMPType: 8, ICMPID: 7, ICMPSeq: 1}
	reply := testpkt.Spec{Src: a("10.0.0.2"), Dst: a("10.0.0.1"), Proto: "icmp", ICMPType: 0, ICMPID: 7, ICMPSeq: 1}
	if r := step(t, tb, pkt(t, echo), t0); r.State != New {
		t.Errorf("echo request: %v, want NEW", r.State)
	}
	if r := step(t, tb, pkt(t, reply), t0); r.State != Established || r.Dir != Reply {
		t.Errorf("echo reply: %v %v, want ESTABLISHED reply", r.State, r.Dir)
	}
	// An echo reply with no request is INVALID: replies cannot start a
	// connection.
	lone := reply
	lone.ICMPID = 99
	if r := step(t, tb, pkt(t, lone), t0); r.State != Invalid {
		t.Errorf("lone echo reply: %v, want INVALID", r.State)
	}

	// A UDP flow, then a port unreachable about it from the far end:
	// RELATED, in the reply direction.
	req := udp("10.0.0.1", "10.0.0.3", 5000, 53)
	step(t, tb, pkt(t, req), t0)
	inner := testpkt.Build(req)
	unreach := testpkt.Spec{Src: a("10.0.0.3"), Dst: a("10.0.0.1"), Proto: "icmp", ICMPType: 3, ICMPCode: 3, Payload: inner}
	r := step(t, tb, pkt(t, unreach), t0)
	if r.State != Related || r.Dir != Reply {
		t.Errorf("port unreachable: %v %v (%s), want RELATED reply", r.State, r.Dir, r.Reason)
	}
	// About a flow nobody knows: INVALID.
	other := testpkt.Build(udp("10.0.0.1", "10.0.0.3", 5001, 53))
	unknown := unreach
	unknown.Payload = other
	if r := step(t, tb, pkt(t, unknown), t0); r.State != Invalid {
		t.Errorf("error about no flow: %v, want INVALID", r.State)
	}
}

func TestICMPv6NeighbourDiscoveryIsUntracked(t *testing.T) {
	tb := NewTable(Config{})
	for _, typ := range []uint8{133, 134, 135, 136, 130, 143} {
		s := testpkt.Spec{Src: a("fe80::1"), Dst: a("ff02::1"), Proto: "icmp", ICMPType: typ}
		if r := step(t, tb, pkt(t, s), t0); r.State != Untracked {
			t.Errorf("ICMPv6 type %d: %v, want UNTRACKED", typ, r.State)
		}
	}
	if tb.Len() != 0 {
		t.Errorf("untracked packets made %d entries", tb.Len())
	}
}

// assure makes a UDP flow a stream: request, reply, and a packet after
// 2 s set ASSURED.
func assure(t *testing.T, tb *Table, port uint16) {
	req, resp := udp("10.0.0.1", "10.0.0.2", port, 53), udp("10.0.0.2", "10.0.0.1", 53, port)
	step(t, tb, pkt(t, req), t0)
	step(t, tb, pkt(t, resp), t0)
	if r := step(t, tb, pkt(t, req), t0.Add(3*time.Second)); r.Status&StatusAssured == 0 {
		t.Fatalf("flow %d not assured", port)
	}
}

func TestTableFullEvictsUnassuredFirst(t *testing.T) {
	const max = 512
	tb := NewTable(Config{Max: max})
	for i := range max / 2 {
		assure(t, tb, uint16(1000+i))
	}
	for i := range max / 2 {
		step(t, tb, pkt(t, udp("10.0.0.9", "10.0.0.2", uint16(20000+i), 53)), t0.Add(3*time.Second))
	}
	if tb.Len() != max {
		t.Fatalf("table has %d, want %d", tb.Len(), max)
	}
	// New flows into the full table: each evicts a nearby unassured
	// entry; assured streams survive and the table stays at its maximum.
	for i := range 100 {
		r := step(t, tb, pkt(t, udp("10.0.0.8", "10.0.0.2", uint16(30000+i), 53)), t0.Add(4*time.Second))
		if r.Drop {
			t.Fatalf("new flow %d dropped although unassured entries remained", i)
		}
	}
	assured := 0
	for c := range tb.All(t0.Add(4 * time.Second)) {
		if c.Status&StatusAssured != 0 {
			assured++
		}
	}
	if assured != max/2 || tb.Len() != max {
		t.Errorf("after evictions: %d entries, %d assured; want %d and %d", tb.Len(), assured, max, max/2)
	}
	if s := tb.Stats(); s.EarlyDrop != 100 {
		t.Errorf("early drops: %d, want 100", s.EarlyDrop)
	}
}

func TestTableFullOfAssuredEntriesDropsAndCounts(t *testing.T) {
	const max = 64
	tb := NewTable(Config{Max: max})
	for i := range max {
		assure(t, tb, uint16(1000+i))
	}
	for i := range 10 {
		var r Result
		tb.In(&r, pkt(t, udp("10.0.0.5", "10.0.0.2", uint16(9000+i), 53)), 0, t0.Add(3*time.Second), true)
		if !r.Drop || r.Reason != ErrTableFull.Error() {
			t.Fatalf("full table: got drop=%v %q, want a table-full drop", r.Drop, r.Reason)
		}
	}
	if s := tb.Stats(); s.Drop != 10 || s.Entries != max {
		t.Errorf("stats: %+v, want 10 drops and %d entries", s, max)
	}
	// Existing flows still work.
	if r := step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0.Add(4*time.Second)); r.State != Established {
		t.Errorf("existing flow in a full table: %v", r.State)
	}
}

func TestListingLooksLikeConntrackL(t *testing.T) {
	tb := NewTable(Config{})
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0)
	var lines []string
	for c := range tb.All(t0.Add(time.Second)) {
		lines = append(lines, c.String())
	}
	want := "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 packets=1 bytes=28 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 packets=0 bytes=0 mark=0 use=1"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("got %q\nwant %q", lines, want)
	}
	var c Conn
	for c = range tb.All(t0) {
	}
	if !strings.HasPrefix(c.Extended(), "ipv4     2 udp      17 ") {
		t.Errorf("extended: %q", c.Extended())
	}
}

func TestTupleInvertRoundTrips(t *testing.T) {
	for _, s := range []testpkt.Spec{
		udp("10.0.0.1", "10.0.0.2", 1, 2),
		{Src: a("2001:db8::1"), Dst: a("2001:db8::2"), Proto: "tcp", SrcPort: 3, DstPort: 4, Flags: "S"},
		{Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: "icmp", ICMPType: 8, ICMPID: 5},
	} {
		tp, ok := TupleOf(pkt(t, s), 0)
		if !ok {
			t.Fatalf("%+v: no tuple", s)
		}
		inv, ok := tp.Invert()
		back, ok2 := inv.Invert()
		if !ok || !ok2 || back != tp {
			t.Errorf("%v: invert twice gave %v", tp, back)
		}
		tb := NewTable(Config{})
		if p1, p2 := tb.probeOf(&tp), tb.probeOf(&inv); p1.s != p2.s || p1.h != p2.h {
			t.Errorf("%v and its inverse hash to different shards", tp)
		}
	}
}

func TestLabelsSurviveInTheTable(t *testing.T) {
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), 0, t0, true)
	r.pending.ext.labels = [2]uint64{0x1, 1 << 63}
	if !tb.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	var got [2]uint64
	for c := range tb.All(t0) {
		got = c.Labels
	}
	if got != ([2]uint64{0x1, 1 << 63}) {
		t.Errorf("labels: got %x, want the ones set", got)
	}
	tb.Flush(t0)
	n := tb.Len()
	for i := range tb.shards {
		n += tb.shards[i].exts.index.len()
	}
	if n != 0 {
		t.Errorf("after flush: %d labels/entries left", n)
	}
}

func TestGetFindsEitherDirection(t *testing.T) {
	tb := NewTable(Config{})
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0)
	for _, tc := range []struct {
		spec testpkt.Spec
		dir  Dir
	}{{udp("10.0.0.1", "10.0.0.2", 1000, 53), Original}, {udp("10.0.0.2", "10.0.0.1", 53, 1000), Reply}} {
		tp, _ := TupleOf(pkt(t, tc.spec), 0)
		c, dir, ok := tb.Get(tp, t0)
		if !ok || dir != tc.dir || c.Orig.SrcPort != 1000 {
			t.Errorf("Get(%v): %v %v %v, want the flow in direction %v", tp, c, dir, ok, tc.dir)
		}
	}
	tp, _ := TupleOf(pkt(t, udp("10.0.0.1", "10.0.0.2", 1001, 53)), 0)
	if _, _, ok := tb.Get(tp, t0); ok {
		t.Error("Get found a flow that does not exist")
	}
}

// within reports whether a timeout read back from the table is the one
// set: the table keeps deadlines in ticks of 2^20 ns, rounded up.
func within(got, want time.Duration) bool {
	return got >= want && got < want+2<<tickShift
}

func TestCountersCarryPast32Bits(t *testing.T) {
	c := counterOf(Counter{Packets: 1<<32 - 1, Bytes: 1<<32 - 10})
	c.add(20)
	if got := c.get(); got != (Counter{Packets: 1 << 32, Bytes: 1<<32 + 10}) {
		t.Errorf("got %+v, want the carries into the high halves", got)
	}
}

func TestTimeoutsBeyondMaxAreCut(t *testing.T) {
	var c connState
	now := t0.UnixNano()
	c.setTimeout(now, 400*24*time.Hour)
	if got := c.left(now); !within(got, MaxTimeout) {
		t.Errorf("left %v, want MaxTimeout %v", got, MaxTimeout)
	}
	if c.expired(now + int64(MaxTimeout) - int64(time.Second)) {
		t.Error("expired before MaxTimeout")
	}
	if !c.expired(now + int64(MaxTimeout) + int64(time.Second)) {
		t.Error("alive after MaxTimeout")
	}
}

func TestCollectDoesNotAllocate(t *testing.T) {
	tb := NewTable(Config{})
	fill(t, tb, 1000)
	allocs := testing.AllocsPerRun(100, func() { tb.Collect(t0, 1) })
	if allocs != 0 {
		t.Errorf("Collect allocates %v times a step, want 0", allocs)
	}
}

func TestXXH64Words(t *testing.T) {
	for _, c := range [][3]uint64{{0, 0, 0}, {1, 2, 3}, {0xdeadbeef, 0x0a0000010a000002, 0x0400005000000006}, {^uint64(0), ^uint64(0), ^uint64(0)}} {
		var buf [16]byte
		binary.LittleEndian.PutUint64(buf[:], c[1])
		binary.LittleEndian.PutUint64(buf[8:], c[2])
		d := xxhash.NewWithSeed(c[0])
		d.Write(buf[:])
		if got, want := xxh64Words(c[0], c[1], c[2]), d.Sum64(); got != want {
			t.Errorf("xxh64Words(%#x, %#x, %#x) = %#x, want xxhash's %#x", c[0], c[1], c[2], got, want)
		}
	}
}

// A helper's refresh replaces the tracker's timeout, for a new
// connection and an established one alike.
func TestRefreshSetsTheTimeout(t *testing.T) {
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 5060, 5060)), 0, t0, true)
	tb.Refresh(&r, time.Hour, t0)
	tb.Confirm(&r)
	if c, _, _ := tb.Get(r.Tuple(Original), t0); c.Timeout.Truncate(time.Second) != time.Hour {
		t.Errorf("new connection: timeout %v, want 1h", c.Timeout)
	}
	r = step(t, tb, pkt(t, udp("10.0.0.2", "10.0.0.1", 5060, 5060)), t0.Add(time.Second))
	tb.Refresh(&r, 2*time.Hour, t0.Add(time.Second))
	if c, _, _ := tb.Get(r.Tuple(Original), t0.Add(time.Second)); c.Timeout.Truncate(time.Second) != 2*time.Hour {
		t.Errorf("established connection: timeout %v, want 2h", c.Timeout)
	}
}

// TestCollectEvictsClosingConnectionsWhenNearlyFull: at 95% of Max the
// garbage collector evicts, as gc_worker does, connections that are not
// assured and TCP ones that are closing, keeping assured open ones,
// and stops once the table is below the mark.
func TestCollectEvictsClosingConnectionsWhenNearlyFull(t *testing.T) {
	const max = 200 // nf_conntrack_max95 = 2 * 95 = 190
	tb := NewTable(Config{Max: max})
	now := t0
	handshake := func(port uint16, closing bool) {
		seg := func(fromClient bool, flags string, seq, ack uint32) {
			s := testpkt.Spec{Src: a("10.0.0.1"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: port, DstPort: 80, Flags: flags, Seq: seq, Ack: ack}
			if !fromClient {
				s.Src, s.Dst, s.SrcPort, s.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
			}
			if r := step(t, tb, pkt(t, s), now); r.State == Invalid {
				t.Fatalf("port %d %s: %s", port, flags, r.Reason)
			}
		}
		seg(true, "S", 100, 0)
		seg(false, "SA", 500, 101)
		seg(true, "A", 101, 501)
		if closing {
			seg(true, "FA", 101, 501)
		}
	}
	for i := range 100 {
		handshake(uint16(10000+i), false) // assured, established
	}
	for i := range 50 {
		handshake(uint16(20000+i), true) // assured, FIN_WAIT
	}
	// 45 unassured UDP flows: 195 entries, over the mark.
	for i := range 45 {
		step(t, tb, pkt(t, udp("10.0.0.9", "10.0.0.2", uint16(30000+i), 53)), now)
	}
	if tb.Len() != 195 {
		t.Fatalf("table has %d entries, want 195", tb.Len())
	}
	tb.Collect(now, shardCount)
	if n := tb.Len(); n != 189 {
		t.Errorf("after a sweep: %d entries, want 189 (evictions stop below 190)", n)
	}
	established := 0
	for c := range tb.All(now) {
		if c.TCPState == TCPEstablished {
			established++
		}
	}
	if established != 100 {
		t.Errorf("%d established connections left, want all 100", established)
	}
	// Below the mark, nothing live is evicted.
	tb.Collect(now, shardCount)
	if n := tb.Len(); n != 189 {
		t.Errorf("a second sweep: %d entries, want 189", n)
	}
}
