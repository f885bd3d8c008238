package ctsync

import (
	"fmt"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

var t0 = time.Unix(1_800_000_000, 0)

// testConn is connection i, with the given mark as its state.
func testConn(i int, mark uint32) *Conn {
	k := conntrack.Conn{Orig: tuple4(packet.ProtoTCP, "192.0.2.1", "198.51.100.1", uint16(10000+i), 80), TCPState: conntrack.TCPEstablished,
		Status: conntrack.StatusConfirmed, Timeout: time.Minute, Mark: mark}
	k.Reply, _ = k.Orig.Invert()
	c := FromConn(&k, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
	return &c
}

// link carries datagrams between two sessions; drop says which of a
// flush's datagrams are lost.
type link struct {
	a, b *Session
	now  time.Time
	// got is what each side applied, by original tuple: the latest mark.
	got [2]map[conntrack.Tuple]uint32
}

func newLink(cfg SessionConfig) *link {
	return &link{a: NewSession(cfg, t0), b: NewSession(cfg, t0), now: t0,
		got: [2]map[conntrack.Tuple]uint32{{}, {}}}
}

// send flushes from's queue into to, dropping the datagrams whose index
// drop reports true; it returns how many datagrams were sent.
func (l *link) send(from, to *Session, drop func(i int) bool) int {
	side := 1
	if to == l.a {
		side = 0
	}
	dgrams := from.Flush(nil, l.now)
	for i, d := range dgrams {
		if drop != nil && drop(i) {
			continue
		}
		for _, r := range to.Receive(nil, d) {
			l.got[side][r.Conn.Orig] = r.Conn.Mark
		}
	}
	return len(dgrams)
}

// settle runs both sides for up to n seconds of ticks without loss.
func (l *link) settle(n int) {
	for range n {
		l.now = l.now.Add(time.Second)
		l.a.Tick(l.now)
		l.b.Tick(l.now)
		l.send(l.a, l.b, nil)
		l.send(l.b, l.a, nil)
	}
}

func TestSessionsReplicateAndAcknowledge(t *testing.T) {
	l := newLink(SessionConfig{})
	for i := range 1000 {
		l.a.Enqueue(TypeNew, testConn(i, 1))
	}
	if n := l.send(l.a, l.b, nil); n < 2 {
		t.Fatalf("1000 connections went in %d datagrams", n)
	}
	if len(l.got[1]) != 1000 {
		t.Fatalf("peer applied %d connections, want 1000", len(l.got[1]))
	}
	if got := l.a.Stats().ResendQueue; got != 1000 {
		t.Errorf("resend queue %d before any ACK, want 1000", got)
	}
	l.settle(3)
	if got := l.a.Stats().Unacked; got != 0 {
		t.Errorf("%d connections unacknowledged after the ACKs, want 0", got)
	}
	if st := l.b.Stats(); st.Lost != 0 || st.Malformed != 0 || st.Before != 0 {
		t.Errorf("peer counted %+v", st)
	}
}

func TestDatagramsStayWithinTheChannelBuffer(t *testing.T) {
	s := NewSession(SessionConfig{MaxDatagram: 1472}, t0)
	for i := range 100 {
		s.Enqueue(TypeNew, testConn(i, 1))
	}
	for _, d := range s.Flush(nil, t0) {
		if len(d) >= 1472 {
			t.Errorf("datagram of %d bytes, want fewer than 1472", len(d))
		}
	}
}

// handshake lets both sides finish HELLO: until then every message
// carries HELLO, which makes the receiver take it despite any gap.
func (l *link) handshake() { l.settle(2) }

func TestLostDatagramIsNACKedAndResentWithItsCurrentState(t *testing.T) {
	l := newLink(SessionConfig{})
	l.handshake()
	for i := range 100 {
		l.a.Enqueue(TypeNew, testConn(i, 1))
	}
	n := l.send(l.a, l.b, func(i int) bool { return i == 1 })
	if n < 3 {
		t.Fatalf("only %d datagrams; the test needs a lost one in the middle", n)
	}
	lost := 100 - len(l.got[1])
	if lost == 0 {
		t.Fatal("nothing was lost")
	}
	// While the peer's NACK is on its way, every connection changes.
	for i := range 100 {
		l.a.Enqueue(TypeUpdate, testConn(i, 2))
	}
	l.settle(3)
	if len(l.got[1]) != 100 {
		t.Fatalf("peer has %d connections, want 100", len(l.got[1]))
	}
	for tp, mark := range l.got[1] {
		if mark != 2 {
			t.Errorf("%v: mark %d, want the current state's 2", tp, mark)
		}
	}
	if st := l.b.Stats(); st.Lost != uint64(lost) {
		t.Errorf("peer counted %d lost, want %d", st.Lost, lost)
	}
	if l.a.Stats().Unacked != 0 {
		t.Errorf("%d connections unacknowledged after recovery", l.a.Stats().Unacked)
	}
}

func TestNACKedMessagesAreResent(t *testing.T) {
	l := newLink(SessionConfig{})
	l.handshake()
	for i := range 100 {
		l.a.Enqueue(TypeNew, testConn(i, 1))
	}
	l.send(l.a, l.b, func(i int) bool { return i == 1 })
	l.settle(3)
	if st := l.a.Stats(); st.Resent == 0 || len(l.got[1]) != 100 {
		t.Errorf("resent %d, peer has %d of 100", st.Resent, len(l.got[1]))
	}
}

func TestHelloUntilTheHelloBack(t *testing.T) {
	l := newLink(SessionConfig{})
	l.a.Enqueue(TypeNew, testConn(1, 1))
	first := l.a.Flush(nil, l.now)
	h, _ := ParseHeader(first[0])
	if h.Flags&FlagHello == 0 {
		t.Fatalf("first message flags %#x, want HELLO", h.Flags)
	}
	l.b.Receive(nil, first[0])
	l.b.Tick(l.now.Add(time.Second))
	reply := l.b.Flush(nil, l.now.Add(time.Second))
	if h, _ := ParseHeader(reply[0]); h.Flags&FlagHelloBack == 0 {
		t.Fatalf("answer flags %#x, want HELLO_BACK", h.Flags)
	}
	l.a.Receive(nil, reply[0])
	l.a.Enqueue(TypeUpdate, testConn(1, 2))
	if h, _ := ParseHeader(l.a.Flush(nil, l.now)[0]); h.Flags&(FlagHello|FlagHelloBack) != FlagHelloBack {
		t.Errorf("after HELLO_BACK flags %#x, want only HELLO_BACK for the peer's own HELLO", h.Flags)
	}
}

// TestRestartedPeerIsTakenDespiteTheGap: a peer that restarts numbers
// its messages afresh; its HELLO makes the receiver take them rather
// than drop them as old or NACK a gap.
func TestRestartedPeerIsTakenDespiteTheGap(t *testing.T) {
	l := newLink(SessionConfig{})
	l.a.Enqueue(TypeNew, testConn(1, 1))
	l.send(l.a, l.b, nil)
	l.settle(2)
	// A restarts, with sequence numbers from an earlier clock.
	l.a = NewSession(SessionConfig{}, t0.Add(-time.Hour))
	l.a.Enqueue(TypeNew, testConn(2, 1))
	l.send(l.a, l.b, nil)
	if _, ok := l.got[1][testConn(2, 1).Orig]; !ok {
		t.Fatal("the restarted peer's connection was dropped")
	}
	if st := l.b.Stats(); st.Before != 0 || st.Lost != 0 {
		t.Errorf("counted %+v", st)
	}
}

func TestOldMessagesAreDropped(t *testing.T) {
	l := newLink(SessionConfig{})
	l.handshake()
	l.a.Enqueue(TypeNew, testConn(1, 1))
	old := l.a.Flush(nil, l.now)
	l.b.Receive(nil, old[0])
	l.settle(2)
	if got := l.b.Receive(nil, old[0]); len(got) != 0 || l.b.Stats().Before != 1 {
		t.Errorf("a replayed message applied %d, before %d", len(got), l.b.Stats().Before)
	}
}

func TestFullResendQueueDropsTheOldest(t *testing.T) {
	s := NewSession(SessionConfig{ResendQueueSize: 10}, t0)
	for i := range 15 {
		s.Enqueue(TypeNew, testConn(i, 1))
	}
	s.Flush(nil, t0)
	if st := s.Stats(); st.ResendQueue != 10 || st.Evicted != 5 {
		t.Errorf("resend queue %d evicted %d, want 10 and 5", st.ResendQueue, st.Evicted)
	}
}

func TestResyncRequestSendsEverything(t *testing.T) {
	var a *Session
	table := []*Conn{testConn(1, 1), testConn(2, 1), testConn(3, 1)}
	a = NewSession(SessionConfig{Resync: func() {
		for _, c := range table {
			a.Enqueue(TypeUpdate, c)
		}
	}}, t0)
	b := NewSession(SessionConfig{}, t0)
	b.RequestResync()
	var got []Received
	for _, d := range b.Flush(nil, t0) {
		a.Receive(nil, d)
	}
	for _, d := range a.Flush(nil, t0) {
		got = b.Receive(got, d)
	}
	if len(got) != len(table) || a.Stats().ResyncsRequested != 1 {
		t.Errorf("resync sent %d connections, want %d", len(got), len(table))
	}
}

func TestNoTrackKeepsNothingAndRefusesACKs(t *testing.T) {
	l := newLink(SessionConfig{NoTrack: true})
	for i := range 10 {
		l.a.Enqueue(TypeNew, testConn(i, 1))
	}
	dgrams := l.a.Flush(nil, l.now)
	if h, _ := ParseHeader(dgrams[0]); h.Flags != 0 {
		t.Errorf("NOTRACK flags %#x, want none", h.Flags)
	}
	if l.a.Stats().ResendQueue != 0 {
		t.Errorf("NOTRACK kept %d messages", l.a.Stats().ResendQueue)
	}
	l.b.Receive(nil, AppendControl(nil, FlagACK, 1, 1, 1))
	if l.b.Stats().Malformed != 1 {
		t.Errorf("an ACK to NOTRACK counted %d malformed, want 1", l.b.Stats().Malformed)
	}
}

func TestReceiveSkipsBadMessagesAndStopsAtTruncation(t *testing.T) {
	good := AppendConn(nil, TypeNew, 0, 5, testConn(1, 1), Latest)
	v2 := AppendControl(nil, FlagAlive, 4, 0, 0)
	v2[0] = 0x2a
	tests := []struct {
		name  string
		dgram []byte
		want  int
	}{
		{"version 2 then a good one", append(append([]byte(nil), v2...), good...), 1},
		{"type 7 then a good one", append(append([]byte(nil), 0x17, 0, 0, 8, 0, 0, 0, 4), good...), 1},
		{"longer than the datagram", good[:len(good)-1], 0},
		{"zero length", append([]byte{0x10, 0, 0, 0, 0, 0, 0, 1}, good...), 0},
	}
	for _, tt := range tests {
		s := NewSession(SessionConfig{NoTrack: true}, t0)
		if got := s.Receive(nil, tt.dgram); len(got) != tt.want || s.Stats().Malformed != 1 {
			t.Errorf("%s: applied %d (want %d), malformed %d (want 1)", tt.name, len(got), tt.want, s.Stats().Malformed)
		}
	}
}

func ExampleSession() {
	now := time.Unix(1_800_000_000, 0)
	a := NewSession(SessionConfig{}, now)
	b := NewSession(SessionConfig{}, now)
	c := testConn(1, 7)
	a.Enqueue(TypeNew, c)
	for _, d := range a.Flush(nil, now) {
		for _, r := range b.Receive(nil, d) {
			fmt.Println(r.Type, r.Conn.Orig, "mark", r.Conn.Mark)
		}
	}
	// Output: CT_NEW src=192.0.2.1 dst=198.51.100.1 sport=10001 dport=80 mark 7
}
