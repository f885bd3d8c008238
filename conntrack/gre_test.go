package conntrack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// testPPTP is a helper with a destroy hook, as PPTP's: it records the
// connections it is told about and kills the GRE connection of the call
// whose IDs its state holds (client's call ID in Data[0:2], server's in
// Data[2:4]).
type testPPTP struct {
	testHelper
	destroyed []Destroyed
}

func (h *testPPTP) DestroyHook() DestroyHook {
	return func(t *Table, c *Destroyed, now time.Time) {
		h.destroyed = append(h.destroyed, *c)
		t.RemoveGREKeys(c.Orig)
		gre := c.Orig
		gre.Proto = packet.ProtoGRE
		gre.SrcPort = uint16(c.Help.Data[0])<<8 | uint16(c.Help.Data[1])
		gre.DstPort = uint16(c.Help.Data[2])<<8 | uint16(c.Help.Data[3])
		if !t.Delete(gre, now) {
			t.UnexpectTuple(gre, now)
		}
	}
}

const clientCall, serverCall = 0x0100, 0x0200

// pptpControl returns a table with an established PPTP control
// connection tcpClient:40000 → tcpServer:1723 whose helper is h, and the
// Result of its last packet.
func pptpControl(t *testing.T, h Helper) (*Table, Result) {
	t.Helper()
	tb := NewTable(Config{Helpers: []Helper{h}})
	var r Result
	for i, s := range handshake {
		r = Result{}
		tb.In(&r, toPPTPPort(s).packet(t), 0, t0, true)
		if i == 0 && !tb.SetHelper(&r, h) {
			t.Fatal("SetHelper refused the new connection")
		}
		if !tb.Confirm(&r) {
			t.Fatal("confirm failed")
		}
	}
	var d [HelpDataSize]byte
	d[0], d[1], d[2], d[3] = clientCall>>8, clientCall&0xff, serverCall>>8, serverCall&0xff
	tb.SetHelpData(&r, &d)
	return tb, r
}

// toPPTPPort moves a segment of the tests' TCP connection to port 1723.
func toPPTPPort(s seg) seg {
	s.opt = func(p *testpkt.Spec) {
		if p.DstPort == 80 {
			p.DstPort = 1723
		} else {
			p.SrcPort = 1723
		}
	}
	return s
}

// greTuple is the tuple of a call's GRE packets from src to dst.
func greTuple(src, dst netip.Addr, srcKey, dstKey uint16) Tuple {
	tp := Tuple{Family: packet.IPv4, Proto: packet.ProtoGRE, SrcPort: srcKey, DstPort: dstKey}
	copy(tp.Src[:], src.AsSlice())
	copy(tp.Dst[:], dst.AsSlice())
	return tp
}

// grePkt is a PPTP data packet from src to dst for call ID call.
func grePkt(t *testing.T, src, dst netip.Addr, call uint16) *packet.Packet {
	return pkt(t, testpkt.Spec{Proto: "pptp", Src: src, Dst: dst, DstPort: call, Seq: 1, Payload: []byte("ppp")})
}

// addCallKeys records a call's GRE keys for the master, both ways.
func addCallKeys(t *testing.T, tb *Table, master *Result) {
	t.Helper()
	if err := tb.AddGREKey(master, Original, greTuple(tcpClient, tcpServer, clientCall, serverCall)); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddGREKey(master, Reply, greTuple(tcpServer, tcpClient, serverCall, clientCall)); err != nil {
		t.Fatal(err)
	}
}

func TestGREKeymapGivesPPTPPacketsTheirSourceKey(t *testing.T) {
	h := &testPPTP{testHelper: testHelper{name: "pptp"}}
	tb, master := pptpControl(t, h)
	other := a("10.0.0.9")

	// Without the call's keys, a packet's source key is 0.
	r := step(t, tb, grePkt(t, other, tcpServer, serverCall), t0)
	if got := r.Tuple(Original); got != greTuple(other, tcpServer, 0, serverCall) {
		t.Errorf("unknown call: tuple %v, want source key 0", got)
	}

	addCallKeys(t, tb, &master)
	tests := []struct {
		name      string
		p         *packet.Packet
		state     State
		dir       Dir
		wantTuple Tuple
	}{
		{"the client's packet takes its call ID as source key", grePkt(t, tcpClient, tcpServer, serverCall), New, Original,
			greTuple(tcpClient, tcpServer, clientCall, serverCall)},
		{"the server's answer belongs to the same connection", grePkt(t, tcpServer, tcpClient, clientCall), Established, Reply,
			greTuple(tcpClient, tcpServer, clientCall, serverCall)},
		{"another host's packets do not", grePkt(t, other, tcpServer, serverCall), New, Original,
			greTuple(other, tcpServer, 0, serverCall)},
	}
	for _, tt := range tests {
		r := step(t, tb, tt.p, t0.Add(time.Second))
		if r.State != tt.state || r.Dir != tt.dir || r.Tuple(Original) != tt.wantTuple {
			t.Errorf("%s: got %v %v %v, want %v %v %v", tt.name, r.State, r.Dir, r.Tuple(Original), tt.state, tt.dir, tt.wantTuple)
		}
	}

	// The same key again is a retransmission; another is refused.
	if err := tb.AddGREKey(&master, Original, greTuple(tcpClient, tcpServer, clientCall, serverCall)); err != nil {
		t.Errorf("same key again: %v, want nil", err)
	}
	if err := tb.AddGREKey(&master, Original, greTuple(tcpClient, tcpServer, 7, 8)); !errors.Is(err, ErrGREKeyExists) {
		t.Errorf("second call's key: %v, want ErrGREKeyExists", err)
	}

	tb.RemoveGREKeys(master.Tuple(Original))
	var p Result
	tb.In(&p, grePkt(t, tcpClient, tcpServer, serverCall), 0, t0.Add(2*time.Second), true)
	if got := p.Tuple(Original).SrcPort; got != 0 || p.State != New {
		t.Errorf("after RemoveGREKeys: %v source key %#x, want a NEW connection with key 0", p.State, got)
	}
}

func TestPPTPDataWithoutPPPHasNoTuple(t *testing.T) {
	b := testpkt.Build(testpkt.Spec{Proto: "pptp", Src: tcpClient, Dst: tcpServer, DstPort: 1, Payload: []byte("x")})
	b[20+2], b[20+3] = 0x08, 0x00 // IPv4 instead of PPP
	var p packet.Packet
	p.Decode(b)
	var r Result
	NewTable(Config{}).In(&r, &p, 0, t0, true)
	if r.State != Invalid || r.Reason != "no tuple" {
		t.Errorf("got %v %q, want INVALID \"no tuple\"", r.State, r.Reason)
	}
}

func TestHelperDestroyHookRunsWhenTheConnectionGoes(t *testing.T) {
	removals := []struct {
		name   string
		remove func(tb *Table, master Tuple)
	}{
		{"Delete", func(tb *Table, m Tuple) { tb.Delete(m, t0) }},
		{"Flush", func(tb *Table, m Tuple) { tb.Flush(t0) }},
		{"DeleteFunc", func(tb *Table, m Tuple) { tb.DeleteFunc(t0, func(c Conn) bool { return c.Orig == m }) }},
		{"timeout, reaped by Collect", func(tb *Table, m Tuple) { tb.Collect(t0.Add(6*day), shardCount) }},
		{"timeout, reaped by a packet", func(tb *Table, m Tuple) {
			var r Result
			tb.In(&r, toPPTPPort(handshake[2]).packet(t), 0, t0.Add(6*day), true)
		}},
	}
	for _, rm := range removals {
		t.Run(rm.name, func(t *testing.T) {
			h := &testPPTP{testHelper: testHelper{name: "pptp"}}
			tb, master := pptpControl(t, h)
			addCallKeys(t, tb, &master)
			// The call's GRE connection, in both directions, a day
			// old at most.
			step(t, tb, grePkt(t, tcpClient, tcpServer, serverCall), t0)
			gre := greTuple(tcpClient, tcpServer, clientCall, serverCall)
			if _, _, ok := tb.Get(gre, t0); !ok {
				t.Fatal("no GRE connection")
			}

			rm.remove(tb, master.Tuple(Original))

			if len(h.destroyed) != 1 {
				t.Fatalf("destroy hook ran %d times, want 1", len(h.destroyed))
			}
			d := h.destroyed[0]
			if d.Orig != master.Tuple(Original) || d.Reply != master.Tuple(Reply) || d.Help.Helper != Helper(h) || d.Help.Data[1] != clientCall&0xff {
				t.Errorf("hook got %v / %v, helper %v, data % x", d.Orig, d.Reply, d.Help.Helper, d.Help.Data[:4])
			}
			if rm.name == "Delete" || rm.name == "DeleteFunc" {
				if _, _, ok := tb.Get(gre, t0); ok {
					t.Error("the hook's Delete left the GRE connection")
				}
			}
			if k := tb.gre.srcKey(&Tuple{Family: packet.IPv4, Src: gre.Src, Dst: gre.Dst, DstPort: serverCall}); k != 0 {
				t.Errorf("keymap still gives key %#x", k)
			}
		})
	}
}

func TestExpectedGREConnectionTakesTheMastersKeysWithIt(t *testing.T) {
	h := &testPPTP{testHelper: testHelper{name: "pptp", policy: []ExpectPolicy{{Name: "default", MaxExpected: 2, Timeout: 5 * time.Minute}}}}
	tb, master := pptpControl(t, h)
	addCallKeys(t, tb, &master)
	gre := greTuple(tcpClient, tcpServer, clientCall, serverCall)
	if err := tb.Expect(&master, Expectation{Tuple: gre}, t0); err != nil {
		t.Fatal(err)
	}
	r := step(t, tb, grePkt(t, tcpClient, tcpServer, serverCall), t0)
	if r.State != Related {
		t.Fatalf("GRE connection is %v, want RELATED", r.State)
	}
	// The GRE connection goes (destroy_gre_conntrack): the master's keys
	// go with it, though the master stays.
	if !tb.Delete(gre, t0) {
		t.Fatal("Delete found no GRE connection")
	}
	if k := tb.gre.srcKey(&Tuple{Family: packet.IPv4, Src: gre.Src, Dst: gre.Dst, DstPort: serverCall}); k != 0 {
		t.Errorf("keymap still gives key %#x", k)
	}
	if len(h.destroyed) != 0 {
		t.Errorf("the master's hook ran for a GRE connection")
	}
	if _, _, ok := tb.Get(master.Tuple(Original), t0); !ok {
		t.Error("the master went too")
	}
}

func TestUnexpectTupleAndHelpOf(t *testing.T) {
	h := &testPPTP{testHelper: testHelper{name: "pptp", policy: []ExpectPolicy{{Name: "default", MaxExpected: 2, Timeout: 5 * time.Minute}}}}
	tb, master := pptpControl(t, h)
	gre := greTuple(tcpServer, tcpClient, serverCall, clientCall)
	if err := tb.Expect(&master, Expectation{Tuple: gre}, t0); err != nil {
		t.Fatal(err)
	}
	if tb.UnexpectTuple(greTuple(tcpServer, tcpClient, serverCall, 9), t0) {
		t.Error("UnexpectTuple removed an expectation of another tuple")
	}
	if !tb.UnexpectTuple(gre, t0) || len(tb.Expectations(t0)) != 0 {
		t.Error("UnexpectTuple left the expectation")
	}
	help, ok := tb.HelpOf(master.Tuple(Reply), t0)
	if !ok || help.Helper != Helper(h) || help.Data[3] != serverCall&0xff {
		t.Errorf("HelpOf(reply tuple) = %v, %v; want the helper and its data", help, ok)
	}
}

func TestSnapshotKeepsTheGREKeymap(t *testing.T) {
	h := &testPPTP{testHelper: testHelper{name: "pptp"}}
	tb, master := pptpControl(t, h)
	addCallKeys(t, tb, &master)
	var buf bytes.Buffer
	if err := tb.Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	restored := NewTable(Config{Helpers: []Helper{h}})
	if _, err := restored.Load(bytes.NewReader(buf.Bytes()), t0); err != nil {
		t.Fatal(err)
	}
	r := step(t, restored, grePkt(t, tcpServer, tcpClient, clientCall), t0)
	if got := r.Tuple(Original); got != greTuple(tcpServer, tcpClient, serverCall, clientCall) {
		t.Errorf("after Load: tuple %v, want the server's call ID as source key", got)
	}

	// A snapshot whose keymap entry is not GRE is refused.
	b := buf.Bytes()
	i := bytes.LastIndexByte(b[:len(b)-4], packet.ProtoGRE)
	bad := bytes.Clone(b)
	bad[i] = packet.ProtoUDP
	if _, err := NewTable(Config{Helpers: []Helper{h}}).Load(bytes.NewReader(fixCRC(bad)), t0); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("Load of a non-GRE keymap entry: %v, want ErrBadSnapshot", err)
	} else if !strings.Contains(err.Error(), "want GRE") {
		t.Errorf("Load of a non-GRE keymap entry: %v, want it to say so", err)
	}
}

// fixCRC recomputes a snapshot's trailer after an edit.
func fixCRC(b []byte) []byte {
	body := b[:len(b)-4]
	binary.BigEndian.PutUint32(b[len(body):], crc32.ChecksumIEEE(body))
	return b
}

// A PPTP data packet of a known call looks its source key up in the
// keymap and updates its connection without allocating.
func TestPPTPDataPacketDoesNotAllocate(t *testing.T) {
	h := &testPPTP{testHelper: testHelper{name: "pptp"}}
	tb, master := pptpControl(t, h)
	addCallKeys(t, tb, &master)
	step(t, tb, grePkt(t, tcpClient, tcpServer, serverCall), t0)
	p := grePkt(t, tcpServer, tcpClient, clientCall)
	var r Result
	allocs := testing.AllocsPerRun(1000, func() { tb.In(&r, p, 0, t0, true) })
	if allocs != 0 || r.State != Established {
		t.Errorf("conntrack-in of a PPTP data packet: %v allocations (state %v), want 0", allocs, r.State)
	}
}
