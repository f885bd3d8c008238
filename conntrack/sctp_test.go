package conntrack

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// sctpPkt is an SCTP packet between 10.0.0.1:5000 (A) and 10.0.0.2:9 (B).
func sctpPkt(t testing.TB, fromA bool, vtag, itag uint32, dataLen int, chunks ...uint8) *packet.Packet {
	t.Helper()
	src, dst, sp, dp := "10.0.0.1", "10.0.0.2", uint16(5000), uint16(9)
	if !fromA {
		src, dst, sp, dp = dst, src, dp, sp
	}
	cs := make([]testpkt.SCTPChunk, len(chunks))
	for i, c := range chunks {
		cs[i] = testpkt.SCTPChunk{Type: c}
	}
	return pkt(t, testpkt.Spec{Src: a(src), Dst: a(dst), Proto: "raw", RawProto: 132,
		Payload: testpkt.SCTP(sp, dp, vtag, itag, cs, dataLen, false)})
}

// sctpAssociate runs the four-way handshake (A's tag 1111, B's 2222).
func sctpAssociate(t *testing.T, tb *Table) {
	t.Helper()
	for i, p := range []*packet.Packet{
		sctpPkt(t, true, 0, 1111, 0, sctpInit),
		sctpPkt(t, false, 1111, 2222, 0, sctpInitAck),
		sctpPkt(t, true, 2222, 0, 0, sctpCookieEcho),
		sctpPkt(t, false, 1111, 0, 0, sctpCookieAck),
	} {
		if r := step(t, tb, p, t0); !r.Tracked() {
			t.Fatalf("handshake packet %d: %v (%s)", i, r.State, r.Reason)
		}
	}
}

// A snapshot keeps an association's state and tags: after a restart its
// data is ESTABLISHED and a packet with a wrong tag still INVALID.
func TestSnapshotKeepsSCTPAssociations(t *testing.T) {
	a := NewTable(Config{})
	sctpAssociate(t, a)
	var buf bytes.Buffer
	if err := a.Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	b := NewTable(Config{})
	if n, err := b.Load(&buf, t0); err != nil || n != 1 {
		t.Fatalf("Load: %d, %v", n, err)
	}
	if c := only(t, b, t0); c.SCTPState != SCTPEstablished || c.Status&StatusAssured == 0 {
		t.Errorf("restored %v %v, want ESTABLISHED and ASSURED", c.SCTPState, c.Status)
	}
	var r Result
	b.In(&r, sctpPkt(t, true, 2222, 0, 10, sctpData), 0, t0, true)
	if r.State != Established {
		t.Errorf("data after the restart: %v (%s), want ESTABLISHED", r.State, r.Reason)
	}
	b.In(&r, sctpPkt(t, true, 7, 0, 10, sctpData), 0, t0, true)
	if r.State != Invalid {
		t.Errorf("data with a wrong tag after the restart: %v, want INVALID", r.State)
	}
}

// A DATA packet of an established association is tracked without
// allocating.
func TestSCTPDataPacketDoesNotAllocate(t *testing.T) {
	tb := NewTable(Config{})
	sctpAssociate(t, tb)
	p := sctpPkt(t, true, 2222, 0, 100, sctpData)
	var r Result
	allocs := testing.AllocsPerRun(1000, func() { tb.In(&r, p, 0, t0, true) })
	if allocs != 0 || r.State != Established {
		t.Errorf("conntrack-in of SCTP data: %v allocations (state %v), want 0", allocs, r.State)
	}
}

// The state changes are UPDATE events, and conntrack -E shows SCTP's
// state as it shows TCP's.
func TestSCTPStateChangesAreEvents(t *testing.T) {
	tb := NewTable(Config{})
	sub := tb.Subscribe(16)
	defer sub.Close()
	sctpAssociate(t, tb)
	var got []string
	for _, ev := range drain(sub) {
		got = append(got, ev.String())
	}
	want := []string{
		"    [NEW] sctp     132 10 CLOSED src=10.0",
		" [UPDATE] sctp     132 3 COOKIE_WAIT src=",
		" [UPDATE] sctp     132 3 COOKIE_ECHOED sr",
		" [UPDATE] sctp     132 210 ESTABLISHED sr",
	}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("event %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
}

// FuzzSCTPTracker sends packets of hostile chunk bytes, alternately from
// each end of one association, through In and Confirm: the tracker must
// neither panic nor leave the table inconsistent, whatever the chunks
// (lengths of 0, cut short, past the end) and tags.
func FuzzSCTPTracker(f *testing.F) {
	f.Add([]byte{1, 0, 0, 20, 0, 0, 4, 87, 0, 0, 255, 255, 0, 10, 0, 10, 0, 0, 0, 1})
	f.Add([]byte{10, 0, 0, 8, 192, 12, 30, 85, 0, 3, 0, 20, 0, 0, 0, 1})
	f.Add([]byte{4, 0, 0, 12, 0, 1, 0, 8, 1, 2, 3, 4, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		tb := NewTable(Config{Max: 8})
		var r Result
		for i := 0; len(data) > 0 && i < 16; i++ {
			n := min(len(data), 4+int(data[0])%64)
			chunk := data[:n]
			data = data[n:]
			vtag := uint32(0)
			if len(chunk) > 1 && chunk[1]&1 != 0 {
				vtag = 1111
			}
			src, dst, sp, dp := "10.0.0.1", "10.0.0.2", uint16(5000), uint16(9)
			if i%2 == 1 {
				src, dst, sp, dp = dst, src, dp, sp
			}
			l4 := append(testpkt.SCTP(sp, dp, vtag, 0, nil, 0, false), chunk...)
			var p packet.Packet
			p.Decode(testpkt.Build(testpkt.Spec{Src: a(src), Dst: a(dst), Proto: "raw", RawProto: 132, Payload: l4}))
			tb.In(&r, &p, 0, t0, false)
			tb.Confirm(&r)
			checkTable(t, tb, t0)
		}
	})
}
