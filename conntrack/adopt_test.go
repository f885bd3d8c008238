package conntrack

import (
	"errors"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// adoptedSNAT is an established TCP connection 10.0.0.1:40000 →
// 203.0.113.9:80, SNATed to 198.51.100.1:61000, as a sync peer hands it
// over.
func adoptedSNAT(t *testing.T) Conn {
	t.Helper()
	orig := TupleOfSpec(t, testpkt.Spec{Src: a("10.0.0.1"), Dst: a("203.0.113.9"), Proto: "tcp", SrcPort: 40000, DstPort: 80})
	reply := TupleOfSpec(t, testpkt.Spec{Src: a("203.0.113.9"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 80, DstPort: 61000})
	return Conn{Orig: orig, Reply: reply, TCPState: TCPEstablished, Timeout: 300 * time.Second, Mark: 9,
		Status: StatusConfirmed | StatusSeenReply | StatusAssured | StatusSrcNAT | StatusSrcNATDone | StatusDstNATDone}
}

// TupleOfSpec is the original tuple of a packet built from s.
func TupleOfSpec(t *testing.T, s testpkt.Spec) Tuple {
	t.Helper()
	tp, ok := TupleOf(pkt(t, s), 0)
	if !ok {
		t.Fatal("no tuple")
	}
	return tp
}

func TestAdoptedConnectionIsPickedUpMidStream(t *testing.T) {
	tb := NewTable(Config{})
	t0 := time.Unix(1000, 0)
	sub := tb.Subscribe(4)
	defer sub.Close()
	if err := tb.Adopt(adoptedSNAT(t), t0); err != nil {
		t.Fatal(err)
	}
	if ev := <-sub.Events(); ev.Type != EventNew || !ev.Adopted {
		t.Errorf("event %v adopted %v, want an adopted NEW", ev.Type, ev.Adopted)
	}
	// Packets in the middle of the stream, with sequence numbers
	// nothing has seen: both directions are taken, the reply found by
	// its NATed tuple.
	out := testpkt.Spec{Src: a("10.0.0.1"), Dst: a("203.0.113.9"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 123456789, Ack: 987654321, Payload: []byte("more")}
	back := testpkt.Spec{Src: a("203.0.113.9"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 80, DstPort: 61000, Flags: "A", Seq: 987654321, Ack: 123456793}
	for i, s := range []testpkt.Spec{out, back, out} {
		r := step(t, tb, pkt(t, s), t0.Add(time.Duration(i+1)*time.Second))
		wantDir := Original
		if i == 1 {
			wantDir = Reply
		}
		if r.State != Established || r.Dir != wantDir || r.TCPState != TCPEstablished || r.Mark != 9 {
			t.Errorf("packet %d: %v %v %v mark %d, want ESTABLISHED %v ESTABLISHED mark 9", i, r.State, r.Dir, r.TCPState, r.Mark, wantDir)
		}
	}
	c, _, ok := tb.Get(adoptedSNAT(t).Orig, t0.Add(4*time.Second))
	if !ok || c.Timeout < 400000*time.Second {
		t.Errorf("after traffic the connection has timeout %v, want ESTABLISHED's 5 days", c.Timeout)
	}
}

func TestAdoptRefusesATakenReplyAndAFullTable(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tb := NewTable(Config{})
	c := adoptedSNAT(t)
	if err := tb.Adopt(c, t0); err != nil {
		t.Fatal(err)
	}
	other := c
	other.Orig.SrcPort = 40001
	if err := tb.Adopt(other, t0); !errors.Is(err, ErrTupleTaken) {
		t.Errorf("a second connection with the same reply: %v, want ErrTupleTaken", err)
	}
	// Adopting the same connection again replaces it.
	c.Mark = 10
	if err := tb.Adopt(c, t0); err != nil || tb.Len() != 1 {
		t.Errorf("re-adopting: %v, %d entries", err, tb.Len())
	}
	if got, _, _ := tb.Get(c.Orig, t0); got.Mark != 10 {
		t.Errorf("mark %d after the replacement, want 10", got.Mark)
	}
	full := NewTable(Config{Max: 1})
	if err := full.Adopt(c, t0); err != nil {
		t.Fatal(err)
	}
	other.Reply.DstPort = 61001
	if err := full.Adopt(other, t0); !errors.Is(err, ErrTableFull) {
		t.Errorf("into a full table: %v, want ErrTableFull", err)
	}
}

// TestAdoptingAMasterAgainKeepsItsExpectations: a connection adopted
// again with the same tuples (a peer's update, the kernel's table dumped
// again) keeps its expectations, as a kernel connection changed over
// ctnetlink does; one adopted with another reply tuple is a new
// connection, and the old one's expectations end with it.
func TestAdoptingAMasterAgainKeepsItsExpectations(t *testing.T) {
	tb := NewTable(Config{})
	t0 := time.Unix(1000, 0)
	c := adoptedSNAT(t)
	if err := tb.Adopt(c, t0); err != nil {
		t.Fatal(err)
	}
	exp := Expectation{Tuple: TupleOfSpec(t, testpkt.Spec{Src: a("10.0.0.1"), Dst: a("203.0.113.9"), Proto: "tcp", DstPort: 50000}),
		Mask: ExpectAnySrcPort, Master: c.Orig, Timeout: time.Minute}
	if err := tb.AdoptExpectation(exp, t0); err != nil {
		t.Fatal(err)
	}
	c.Mark = 10
	if err := tb.Adopt(c, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := tb.Expectations(t0.Add(2 * time.Second)); len(got) != 1 || got[0].Timeout != 58*time.Second {
		t.Fatalf("after adopting the master again: %d expectations (%v), want the one, with its own 58s left", len(got), got)
	}
	c.Reply.DstPort = 61001
	if err := tb.Adopt(c, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := tb.Expectations(t0.Add(3 * time.Second)); len(got) != 0 {
		t.Errorf("after replacing the master by another: %d expectations, want none", len(got))
	}
}
