package helpers

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
)

// pptpMsg is a PPTP control message, built as RFC 2637 lays it out.
func pptpMsg(typ uint16, words ...uint16) []byte { return testpkt.PPTPControl(typ, words...) }

// The messages of a call, with the result codes where the reply and
// request messages put them (a byte, high in its 16-bit word).
func startRequest() []byte      { return pptpMsg(pptpStartSessionRequest, 0x0100) }
func startReply(ok bool) []byte { return pptpMsg(pptpStartSessionReply, 0x0100, result(ok)) }
func outCallRequest(cid uint16) []byte {
	return pptpMsg(pptpOutCallRequest, cid, 1)
}
func outCallReply(cid, pcid uint16, ok bool) []byte {
	return pptpMsg(pptpOutCallReply, cid, pcid, result(ok))
}
func inCallRequest(cid uint16) []byte { return pptpMsg(pptpInCallRequest, cid, 1) }
func inCallReply(cid, pcid uint16, ok bool) []byte {
	return pptpMsg(pptpInCallReply, cid, pcid, result(ok))
}
func inCallConnect(pcid uint16) []byte   { return pptpMsg(pptpInCallConnect, pcid) }
func clearRequest(cid uint16) []byte     { return pptpMsg(pptpCallClearRequest, cid) }
func disconnectNotify(cid uint16) []byte { return pptpMsg(pptpCallDisconnectNotify, cid, 0x0100) }

func result(ok bool) uint16 {
	if ok {
		return pptpResultOK << 8
	}
	return 2 << 8
}

// pptpSession is an established control connection whose session the
// server has confirmed.
func pptpSession(t *testing.T, public string) *conn {
	h := New(Config{}).Lookup("pptp", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, h, "tcp", a("10.0.0.5"), a(public), a("203.0.113.5"), 1723)
	c.sendMsg(conntrack.Original, startRequest())
	c.sendMsg(conntrack.Reply, startReply(true))
	return c
}

func (c *conn) sendMsg(d conntrack.Dir, m []byte) (Verdict, []byte) {
	v, p := c.send(d, string(m))
	return v, p.Bytes()[p.PayloadOff:]
}

// greExp is the conntrack -L expect line of a call's GRE expectation.
func greExp(src, dst string, srcKey, dstKey uint16) string {
	return "proto=47 src=" + src + " dst=" + dst + " srckey=0x" + hex(srcKey) + " dstkey=0x" + hex(dstKey) +
		" mask-src=255.255.255.255 mask-dst=255.255.255.255 srckey=0xffff dstkey=0xffff master-src=10.0.0.5 master-dst=203.0.113.5 sport=40000 dport=1723 class=0 helper=pptp"
}

func hex(v uint16) string {
	const digits = "0123456789abcdef"
	s := ""
	for {
		s = string(digits[v&0xf]) + s
		v >>= 4
		if v == 0 {
			return s
		}
	}
}

func TestPPTPOutgoingCallExpectsItsGREBothWays(t *testing.T) {
	c := pptpSession(t, "10.0.0.5")
	c.sendMsg(conntrack.Original, outCallRequest(0x1111))
	c.sendMsg(conntrack.Reply, outCallReply(0x2222, 0x1111, true))
	want := []string{
		greExp("10.0.0.5", "203.0.113.5", 0x1111, 0x2222),
		greExp("203.0.113.5", "10.0.0.5", 0x2222, 0x1111),
	}
	if got := c.expected(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("expectations\n got %q\nwant %q", got, want)
	}
	// The keymap gives the client's GRE packets its call ID as source key.
	var p packet.Packet
	p.Decode(greFrame(a("10.0.0.5"), a("203.0.113.5"), 0x2222))
	if tp, ok := c.tb.TupleOf(&p, 0); !ok || tp.SrcPort != 0x1111 || tp.DstPort != 0x2222 {
		t.Errorf("GRE tuple %v, %v; want keys 0x1111, 0x2222", tp, ok)
	}

	// Call-Disconnect-Notify ends the call: expectations and keys go.
	c.sendMsg(conntrack.Reply, disconnectNotify(0x2222))
	if got := c.expected(); len(got) != 0 {
		t.Errorf("after Call-Disconnect-Notify: %q", got)
	}
	if tp, _ := c.tb.TupleOf(&p, 0); tp.SrcPort != 0 {
		t.Errorf("after Call-Disconnect-Notify the keymap still gives %#x", tp.SrcPort)
	}
}

func TestPPTPIncomingCall(t *testing.T) {
	c := pptpSession(t, "10.0.0.5")
	c.sendMsg(conntrack.Reply, inCallRequest(0x2222))
	c.sendMsg(conntrack.Original, inCallReply(0x1111, 0x2222, true))
	c.sendMsg(conntrack.Reply, inCallConnect(0x1111))
	want := []string{
		greExp("10.0.0.5", "203.0.113.5", 0x1111, 0x2222),
		greExp("203.0.113.5", "10.0.0.5", 0x2222, 0x1111),
	}
	if got := c.expected(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("expectations\n got %q\nwant %q", got, want)
	}
}

// Each message counts only in the state the kernel accepts it in; any
// other, or a malformed one, changes nothing and leaves the packet alone.
func TestPPTPFollowsTheKernelsStateMachine(t *testing.T) {
	type msg struct {
		dir conntrack.Dir
		b   []byte
	}
	out := func(b []byte) msg { return msg{conntrack.Original, b} }
	in := func(b []byte) msg { return msg{conntrack.Reply, b} }
	call := []msg{out(outCallRequest(0x1111)), in(outCallReply(0x2222, 0x1111, true))}
	badMagic := outCallReply(0x2222, 0x1111, true)
	badMagic[4] ^= 0xff
	mgmt := outCallReply(0x2222, 0x1111, true)
	mgmt[3] = 2 // PPTP_PACKET_MGMT
	tests := []struct {
		name    string
		session bool // start with a confirmed session
		msgs    []msg
		expect  int
	}{
		{"a call", true, call, 2},
		{"no session", false, call, 0},
		{"session refused", false, append([]msg{out(startRequest()), in(startReply(false))}, call...), 0},
		{"session requested twice is still one", false, append([]msg{out(startRequest()), out(startRequest()), in(startReply(true))}, call...), 2},
		{"reply for another call ID", true, []msg{out(outCallRequest(0x1111)), in(outCallReply(0x2222, 0x1112, true))}, 0},
		{"call refused", true, []msg{out(outCallRequest(0x1111)), in(outCallReply(0x2222, 0x1111, false))}, 0},
		{"reply without request", true, []msg{in(outCallReply(0x2222, 0x1111, true))}, 0},
		{"reply cut short", true, []msg{out(outCallRequest(0x1111)), in(outCallReply(0x2222, 0x1111, true)[:pptpBodyOff+19])}, 0},
		{"wrong magic cookie", true, []msg{out(outCallRequest(0x1111)), in(badMagic)}, 0},
		{"management message", true, []msg{out(outCallRequest(0x1111)), in(mgmt)}, 0},
		{"the reply in the client's direction", true, []msg{out(outCallRequest(0x1111)), out(outCallReply(0x2222, 0x1111, true))}, 0},
		{"stop request ends the session", true, append([]msg{out(pptpMsg(pptpStopSessionRequest))}, call...), 0},
		{"incoming call without In-Call-Reply", true, []msg{in(inCallRequest(0x2222)), in(inCallConnect(0x1111))}, 0},
		{"incoming call refused", true, []msg{in(inCallRequest(0x2222)), out(inCallReply(0x1111, 0x2222, false)), in(inCallConnect(0x1111))}, 0},
		{"unknown message type", true, []msg{out(pptpMsg(16, 0x1111)), in(outCallReply(0x2222, 0x1111, true))}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Config{}).Lookup("pptp", packet.IPv4, packet.ProtoTCP)
			c := newConn(t, h, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 1723)
			if tt.session {
				c.sendMsg(conntrack.Original, startRequest())
				c.sendMsg(conntrack.Reply, startReply(true))
			}
			for _, m := range tt.msgs {
				if v, got := c.sendMsg(m.dir, m.b); v.Drop || string(got) != string(m.b) {
					t.Fatalf("message %x: verdict %+v, payload changed: %v", m.b[8:10], v, string(got) != string(m.b))
				}
			}
			if got := c.expected(); len(got) != tt.expect {
				t.Errorf("%d expectations %q, want %d", len(got), got, tt.expect)
			}
		})
	}
}

func TestPPTPUnderSNATRewritesTheClientsCallID(t *testing.T) {
	c := pptpSession(t, "198.51.100.1")
	// The client's call ID becomes the control connection's NATed
	// source port (40000 = 0x9c40), and the server's messages get the
	// client's own back.
	const natted = 40000
	id := func(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[pptpBodyOff+off:]) }
	_, req := c.sendMsg(conntrack.Original, outCallRequest(0x1111))
	if got := id(req, 0); got != natted {
		t.Errorf("Outgoing-Call-Request call ID %#x, want %#x", got, natted)
	}
	_, rep := c.sendMsg(conntrack.Reply, outCallReply(0x2222, natted, true))
	if got := id(rep, 2); got != 0x1111 {
		t.Errorf("Outgoing-Call-Reply peer's call ID %#x, want 0x1111", got)
	}
	want := []string{
		greExp("10.0.0.5", "203.0.113.5", 0x1111, 0x2222),
		greExp("203.0.113.5", "198.51.100.1", 0x2222, natted),
	}
	if got := c.expected(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("expectations\n got %q\nwant %q", got, want)
	}
	exps := c.tb.Expectations(t0)
	if exps[0].SavedPort != natted || exps[0].Dir != conntrack.Original || exps[1].SavedPort != 0x1111 || exps[1].Dir != conntrack.Reply {
		t.Errorf("saved call IDs %#x/%v and %#x/%v, want %#x/original and 0x1111/reply",
			exps[0].SavedPort, exps[0].Dir, exps[1].SavedPort, exps[1].Dir, natted)
	}
	if _, clr := c.sendMsg(conntrack.Original, clearRequest(0x1111)); id(clr, 0) != natted {
		t.Errorf("Call-Clear-Request call ID %#x, want %#x", id(clr, 0), natted)
	}
	if _, disc := c.sendMsg(conntrack.Reply, disconnectNotify(0x2222)); id(disc, 0) != 0x1111 {
		// The kernel writes the client's call ID over the server's.
		t.Errorf("Call-Disconnect-Notify call ID %#x, want 0x1111", id(disc, 0))
	}
}

// natRecorder records the NAT an expectation function sets up.
type natRecorder struct{ ranges []string }

func (n *natRecorder) SetupNAT(r nat.Range, m nat.Manip) bool {
	s := "src "
	if m == nat.ManipDst {
		s = "dst "
	}
	s += netip.AddrFrom4([4]byte(r.Min[:4])).String()
	if r.Flags&nat.ProtoSpecified != 0 {
		s += " key 0x" + hex(r.MinPort)
	}
	n.ranges = append(n.ranges, s)
	return true
}

// greFrame is a PPTP data packet from src to dst for call ID call.
func greFrame(src, dst netip.Addr, call uint16) []byte {
	return testpkt.Build(testpkt.Spec{Proto: "pptp", Src: src, Dst: dst, DstPort: call, Seq: 1, Payload: []byte("ppp")})
}

func TestPPTPExpectedGREConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		public string
		first  int // which expectation the first GRE packet matches
		nat    []string
		// left is how many expectations remain: the other direction's
		// is taken back, except under NAT when the server's packet
		// comes first (the kernel looks for it with call IDs 0).
		left int
	}{
		{"no NAT, the client first", "10.0.0.5", 0, nil, 1},
		{"no NAT, the server first", "10.0.0.5", 1, nil, 1},
		{"SNAT, the client first", "198.51.100.1", 0, []string{"src 198.51.100.1 key 0x9c40", "dst 203.0.113.5"}, 1},
		{"SNAT, the server first", "198.51.100.1", 1, []string{"src 203.0.113.5", "dst 10.0.0.5 key 0x1111"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := pptpSession(t, tc.public)
			_, req := c.sendMsg(conntrack.Original, outCallRequest(0x1111))
			c.sendMsg(conntrack.Reply, outCallReply(0x2222, binary.BigEndian.Uint16(req[pptpBodyOff:]), true))
			exps := c.tb.Expectations(t0)
			if len(exps) != 2 {
				t.Fatalf("%d expectations", len(exps))
			}
			exp := exps[tc.first]
			var n natRecorder
			if !RunExpectFn(&exp, &conntrack.Result{}, c.tb, &n, t0) {
				t.Fatal("RunExpectFn failed")
			}
			// RunExpectFn does not use the expectation up (conntrack
			// does, as the packet matches it).
			if left := c.tb.Expectations(t0); len(left) != tc.left || left[tc.first%len(left)].Tuple != exp.Tuple {
				t.Errorf("expectations left %v, want %d with the one used", left, tc.left)
			}
			if strings.Join(n.ranges, "; ") != strings.Join(tc.nat, "; ") {
				t.Errorf("NAT %q, want %q", n.ranges, tc.nat)
			}
		})
	}
}

func TestPPTPControlConnectionsEndKillsTheCall(t *testing.T) {
	c := pptpSession(t, "10.0.0.5")
	c.sendMsg(conntrack.Original, outCallRequest(0x1111))
	c.sendMsg(conntrack.Reply, outCallReply(0x2222, 0x1111, true))
	// The call's GRE connection starts from the client's side.
	var p packet.Packet
	p.Decode(greFrame(a("10.0.0.5"), a("203.0.113.5"), 0x2222))
	var r conntrack.Result
	c.tb.In(&r, &p, 0, t0, false)
	if r.State != conntrack.Related {
		t.Fatalf("GRE packet is %v, want RELATED", r.State)
	}
	exp, _ := r.Expected()
	if !RunExpectFn(exp, &r, c.tb, &natRecorder{}, t0) || !c.tb.Confirm(&r) {
		t.Fatal("could not start the GRE connection")
	}
	gre := r.Tuple(conntrack.Original)
	if _, _, ok := c.tb.Get(gre, t0); !ok {
		t.Fatal("no GRE connection")
	}
	// The control connection goes: the GRE connection goes too.
	if n := c.tb.DeleteFunc(t0, func(c conntrack.Conn) bool { return c.Orig.Proto == packet.ProtoTCP }); n != 1 {
		t.Fatalf("deleted %d control connections", n)
	}
	if _, _, ok := c.tb.Get(gre, t0); ok {
		t.Error("the GRE connection outlived its control connection")
	}
}
