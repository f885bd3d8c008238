package conntrack

import (
	"bytes"
	"testing"
)

// synproxyConn opens a connection as SYNPROXY's SYN to the server opens
// one (SetSynproxy on the new connection) and returns the table.
func synproxyConn(t *testing.T, s Synproxy) *Table {
	t.Helper()
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, seg{dir: Original, flags: "S", seq: 1000, win: 63}.packet(t), 0, t0, true)
	tb.SetSynproxy(&r, s)
	if !tb.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	return tb
}

// A connection keeps its SYNPROXY state: later packets find it, updates
// stick, listings do not show the marker, and snapshots carry it.
func TestSynproxyStateStaysWithTheConnection(t *testing.T) {
	tb := synproxyConn(t, Synproxy{ISN: 77})
	var r Result
	tb.In(&r, seg{dir: Reply, flags: "SA", seq: 5000, ack: 1001}.packet(t), 0, t0, true)
	if s, ok := r.Synproxy(); !ok || s.ISN != 77 {
		t.Fatalf("the SYN/ACK found %+v, %v; want ISN 77", s, ok)
	}
	tb.SetSynproxy(&r, Synproxy{ISN: 77, ITS: 5, TSOff: 9})
	if got := tb.TCPMaxWindow(&r, Original); got != 63 {
		t.Errorf("td_maxwin of the original direction %d, want the SYN's 63", got)
	}
	c := only(t, tb, t0)
	if got := c.Status.String(); got != "SEEN_REPLY|CONFIRMED" {
		t.Errorf("status %s, want SEEN_REPLY|CONFIRMED (no SYNPROXY marker)", got)
	}
	var buf bytes.Buffer
	if err := tb.Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	b := NewTable(Config{})
	if n, err := b.Load(&buf, t0); err != nil || n != 1 {
		t.Fatalf("Load: %d, %v", n, err)
	}
	r = Result{}
	b.In(&r, seg{dir: Original, flags: "A", seq: 1001, ack: 5001}.packet(t), 0, t0, true)
	if s, ok := r.Synproxy(); !ok || s != (Synproxy{ISN: 77, ITS: 5, TSOff: 9}) {
		t.Errorf("after a snapshot: %+v, %v", s, ok)
	}
	// An ordinary connection has none.
	plain := established(t)
	r = Result{}
	plain.In(&r, seg{dir: Original, flags: "A", seq: 1101, ack: 5001}.packet(t), 0, t0, true)
	if _, ok := r.Synproxy(); ok {
		t.Error("an ordinary connection has SYNPROXY state")
	}
}

// While the server has not answered SYNPROXY's SYN, the client's
// keep-alive (sequence number the ISN) keeps its connection, unchanged;
// any other ACK, or one of a connection SYNPROXY did not open, is
// INVALID.
func TestSynproxyKeepAliveException(t *testing.T) {
	for _, tt := range []struct {
		name    string
		proxied bool
		seq     uint32
		invalid bool
	}{
		{"keep-alive", true, 1000, false},
		{"later segment", true, 1001, true},
		{"not proxied", false, 1000, true},
	} {
		var tb *Table
		if tt.proxied {
			tb = synproxyConn(t, Synproxy{})
		} else {
			tb = NewTable(Config{})
			step(t, tb, seg{dir: Original, flags: "S", seq: 1000}.packet(t), t0)
		}
		var r Result
		tb.In(&r, seg{dir: Original, flags: "A", seq: tt.seq, ack: 77}.packet(t), 0, t0, true)
		if got := r.State == Invalid; got != tt.invalid {
			t.Errorf("%s: invalid %v (%s), want %v", tt.name, got, r.Reason, tt.invalid)
		}
		if !tt.invalid && r.TCPState != TCPSynSent {
			t.Errorf("%s: state %v, want SYN_SENT unchanged", tt.name, r.TCPState)
		}
	}
}

// The RST that ends a connection before any reply removes it from the
// table, but the packet keeps the connection's sequence adjustment, as
// an skb keeps its ct: SYNPROXY translates the server's RST with it.
func TestSeqAdjOfAKilledConnection(t *testing.T) {
	tb := synproxyConn(t, Synproxy{ISN: 9000})
	var r Result
	p := seg{dir: Reply, flags: "RA", seq: 0, ack: 1001}.packet(t)
	tb.In(&r, p, 0, t0, true)
	if tb.Len() != 0 {
		t.Fatalf("the RST left %d connections", tb.Len())
	}
	tb.InitSeqAdj(&r, Reply, 9001, t0)
	if !tb.SeqAdjust(&r, p) || p.Seq != 9001 {
		t.Errorf("RST seq %d after adjustment, want 9001", p.Seq)
	}
}
