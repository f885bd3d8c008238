package conntrack

import (
	"bytes"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// tcpSeg is a segment of the client 10.0.0.1:40000 ↔ server
// 192.0.2.1:21 connection the sequence-adjustment tests use.
func tcpSeg(fromClient bool, flags string, seq, ack uint32, payload string, sack ...[2]uint32) testpkt.Spec {
	s := testpkt.Spec{Src: a("10.0.0.1"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 40000, DstPort: 21,
		Flags: flags, Seq: seq, Ack: ack, Payload: []byte(payload), SACK: sack}
	if !fromClient {
		s.Src, s.Dst, s.SrcPort, s.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
	}
	return s
}

// TestSeqAdjustShiftsBothDirections plays the FTP case: a helper grows
// the client's command by 5 bytes. Later client segments must leave 5
// higher, the server's acknowledgements (of the grown stream) must reach
// the client 5 lower, SACK blocks too, with good checksums; and the
// tracker must take the server's acknowledgement of bytes the client
// never sent as in window.
func TestSeqAdjustShiftsBothDirections(t *testing.T) {
	tb := NewTable(Config{})
	const c0, s0 = 1000, 5000
	now := t0
	for _, sp := range []testpkt.Spec{
		tcpSeg(true, "S", c0, 0, ""),
		tcpSeg(false, "SA", s0, c0+1, ""),
		tcpSeg(true, "A", c0+1, s0+1, ""),
	} {
		if r := step(t, tb, pkt(t, sp), now); r.State == Invalid {
			t.Fatalf("handshake: %s", r.Reason)
		}
	}
	// The command, 10 bytes, which the helper rewrites into 15.
	cmd := pkt(t, tcpSeg(true, "PA", c0+1, s0+1, "PORT 1,2,3"))
	r := step(t, tb, cmd, now)
	tb.AdjustSeq(&r, c0+1, 5, now)
	if r.Status&StatusSeqAdjust == 0 {
		t.Fatal("AdjustSeq did not set SEQ_ADJUST")
	}

	cases := []struct {
		name    string
		spec    testpkt.Spec
		wantSeq uint32
		wantAck uint32
		wantSAK [][2]uint32
	}{
		// The server acknowledges the 15 bytes it received.
		{"server ack of the grown command", tcpSeg(false, "A", s0+1, c0+16, ""), s0 + 1, c0 + 11, nil},
		// The next client segment starts after the original 10 bytes.
		{"next client segment", tcpSeg(true, "PA", c0+11, s0+1, "NOOP\r\n"), c0 + 16, s0 + 1, nil},
		{"server sack beyond the change", tcpSeg(false, "A", s0+1, c0+16, "", [2]uint32{c0 + 22, c0 + 30}), s0 + 1, c0 + 11, [][2]uint32{{c0 + 17, c0 + 25}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pkt(t, c.spec)
			var r Result
			tb.In(&r, p, 0, now, true)
			if r.State != Established {
				t.Fatalf("state = %v (%s), want ESTABLISHED", r.State, r.Reason)
			}
			if !tb.SeqAdjust(&r, p) {
				t.Fatal("SeqAdjust changed nothing")
			}
			want := c.spec
			want.Seq, want.Ack, want.SACK = c.wantSeq, c.wantAck, c.wantSAK
			if got, w := p.Bytes(), testpkt.Build(want); !bytes.Equal(got, w) {
				t.Errorf("adjusted packet\n got %x\nwant %x", got, w)
			}
			if !p.L4ChecksumOK() {
				t.Error("checksum wrong after adjustment")
			}
		})
	}

	// The adjustment survives a snapshot.
	var buf bytes.Buffer
	if err := tb.Save(&buf, now); err != nil {
		t.Fatal(err)
	}
	tb2 := NewTable(Config{})
	if _, err := tb2.Load(&buf, now); err != nil {
		t.Fatal(err)
	}
	p := pkt(t, tcpSeg(true, "PA", c0+17, s0+1, "x"))
	var r2 Result
	tb2.In(&r2, p, 0, now.Add(time.Second), true)
	if !tb2.SeqAdjust(&r2, p) || p.Seq != c0+22 {
		t.Errorf("after a snapshot, client seq %d became %d, want %d", c0+17, p.Seq, c0+22)
	}
}

func TestAdjustSeqRecordsOnlyLaterChanges(t *testing.T) {
	// nf_ct_seqadj_set: a change at or before the last correction point
	// is ignored unless the offsets cancelled out.
	tb := NewTable(Config{})
	r := Result{State: Established, isNew: true}
	tb.AdjustSeq(&r, 100, 5, t0)
	tb.AdjustSeq(&r, 90, 7, t0) // before the first: ignored
	tb.AdjustSeq(&r, 200, -2, t0)
	got := r.pending.ext.seqadj[Original]
	want := SeqAdj{CorrectionPos: 200, OffsetBefore: 5, OffsetAfter: 3}
	if got != want {
		t.Errorf("adjustment = %+v, want %+v", got, want)
	}
}

func TestSeqAdjustLeavesOtherConnectionsAlone(t *testing.T) {
	tb := NewTable(Config{})
	p := pkt(t, tcpSeg(true, "S", 1, 0, ""))
	r := step(t, tb, p, t0)
	before := append([]byte(nil), p.Bytes()...)
	if tb.SeqAdjust(&r, p) || !bytes.Equal(p.Bytes(), before) {
		t.Error("SeqAdjust changed a packet of a connection without SEQ_ADJUST")
	}
}
