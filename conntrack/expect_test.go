package conntrack

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// ftpControl returns a table with an established FTP control connection
// tcpClient:40000 → tcpServer:21, and the Result of its last packet, as
// a helper would see the PORT command's.
func ftpControl(t *testing.T, mark uint32) (*Table, Result) {
	t.Helper()
	tb := NewTable(Config{Helpers: []Helper{testFTP}})
	var r Result
	for i, s := range handshake {
		spec := s
		spec.opt = func(p *testpkt.Spec) {
			if p.DstPort == 80 {
				p.DstPort = 21
			} else {
				p.SrcPort = 21
			}
		}
		r = Result{}
		tb.In(&r, spec.packet(t), 0, t0, true)
		if i == 0 && !tb.SetHelper(&r, testFTP) {
			t.Fatal("SetHelper refused the new connection")
		}
		if !tb.Confirm(&r) {
			t.Fatal("confirm failed")
		}
	}
	tb.SetMark(&r, mark, t0)
	return tb, r
}

// testHelper is a helper with a fixed policy, as the helpers package
// defines them.
type testHelper struct {
	name   string
	policy []ExpectPolicy
}

func (h *testHelper) Name() string { return h.name }

func (h *testHelper) Policy(class uint8) ExpectPolicy {
	if int(class) < len(h.policy) {
		return h.policy[class]
	}
	return ExpectPolicy{}
}

var (
	testFTP = &testHelper{"ftp", []ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: 300 * time.Second}, {Name: "other", MaxExpected: 1, Timeout: 300 * time.Second}}}
	testSIP = &testHelper{"sip", []ExpectPolicy{{Name: "signalling", MaxExpected: 1, Timeout: 180 * time.Second}, {Name: "audio", MaxExpected: 2, Timeout: 180 * time.Second}}}
)

// dataSYN is the FTP server's active-mode data connection, from port 20
// to the client's port.
func dataSeg(dir Dir, flags string, seq, ack uint32, serverPort, clientPort uint16) *testpkt.Spec {
	s := &testpkt.Spec{Src: tcpServer, Dst: tcpClient, Proto: "tcp", SrcPort: serverPort, DstPort: clientPort, Flags: flags, Seq: seq, Ack: ack}
	if dir == Reply {
		s.Src, s.Dst, s.SrcPort, s.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
	}
	return s
}

// portExpectation is what the FTP helper expects after "PORT
// 10,0,0,1,195,80": the server connecting from any port to the client's
// 50000.
func portExpectation(clientPort uint16) Expectation {
	tp := Tuple{Family: packet.IPv4, Proto: packet.ProtoTCP, SrcPort: 0, DstPort: clientPort}
	copy(tp.Src[:], tcpServer.AsSlice())
	copy(tp.Dst[:], tcpClient.AsSlice())
	return Expectation{Tuple: tp, Mask: ExpectAnySrcPort}
}

func TestExpectedFTPDataConnectionIsRelated(t *testing.T) {
	tb, master := ftpControl(t, 0x42)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		spec     *testpkt.Spec
		state    State
		dir      Dir
		expected bool
	}{
		{"the server's SYN is RELATED", dataSeg(Original, "S", 7000, 0, 20, 50000), Related, Original, true},
		{"a retransmitted SYN is still RELATED", dataSeg(Original, "S", 7000, 0, 20, 50000), Related, Original, true},
		{"the client's SYN/ACK is ESTABLISHED", dataSeg(Reply, "SA", 9000, 7001, 20, 50000), Established, Reply, true},
		{"then the connection is ESTABLISHED", dataSeg(Original, "A", 7001, 9001, 20, 50000), Established, Original, true},
		// The expectation was used up.
		{"another connection to the port is NEW", dataSeg(Original, "S", 7000, 0, 2020, 50000), New, Original, false},
	}
	for _, s := range steps {
		r := step(t, tb, pkt(t, *s.spec), t0.Add(time.Second))
		if r.State != s.state || r.Dir != s.dir || (r.Status&StatusExpected != 0) != s.expected {
			t.Errorf("%s: got %v %v %v, want %v %v expected=%v", s.name, r.State, r.Dir, r.Status, s.state, s.dir, s.expected)
		}
		if s.expected && r.Mark != 0x42 {
			t.Errorf("%s: mark %#x, want the master's 0x42", s.name, r.Mark)
		}
	}
	if n := len(tb.Expectations(t0.Add(time.Second))); n != 0 {
		t.Errorf("%d expectations left, want 0", n)
	}
}

func TestExpectationsExpire(t *testing.T) {
	tb, master := ftpControl(t, 0)
	e := portExpectation(50000)
	e.Timeout = 10 * time.Second
	if err := tb.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at    time.Duration
		left  int
		probe bool // send a data SYN
		state State
	}{
		{9 * time.Second, 1, false, 0},
		{10 * time.Second, 0, true, New},
	}
	for _, tt := range tests {
		now := t0.Add(tt.at)
		if got := tb.Expectations(now); len(got) != tt.left {
			t.Errorf("at %v: %d expectations, want %d", tt.at, len(got), tt.left)
		} else if tt.left == 1 && got[0].Timeout != e.Timeout-tt.at {
			t.Errorf("at %v: %v left, want %v", tt.at, got[0].Timeout, e.Timeout-tt.at)
		}
		if tt.probe {
			if r := step(t, tb, pkt(t, *dataSeg(Original, "S", 1, 0, 20, 50000)), now); r.State != tt.state {
				t.Errorf("at %v: data SYN is %v, want %v", tt.at, r.State, tt.state)
			}
		}
	}
}

func TestExpectReplacesClashesAndEvicts(t *testing.T) {
	tb, master := ftpControl(t, 0)
	// A second control connection, another master.
	other := udp("10.0.0.3", "10.0.0.2", 5060, 5060)
	r2 := step(t, tb, pkt(t, other), t0)

	anySrc := portExpectation(50000)
	anySrc.Mask = ExpectAnySrcAddr | ExpectAnySrcPort
	exact := portExpectation(50000)
	exact.Mask = 0
	exact.Tuple.SrcPort = 20
	otherClass := portExpectation(50000)
	otherClass.Class = 1
	tests := []struct {
		name   string
		master *Result
		e      Expectation
		err    error
		want   int // expectations afterwards
	}{
		{"first", &master, portExpectation(50000), nil, 1},
		{"same master, same tuple: replaces", &master, portExpectation(50000), nil, 1},
		{"same master, same tuple, other class", &master, otherClass, ErrExpectationExists, 1},
		{"other master, same tuple: EBUSY", &r2, portExpectation(50000), ErrExpectationClash, 1},
		{"other master, overlapping wildcard: EBUSY", &r2, anySrc, ErrExpectationClash, 1},
		{"other master, narrower tuple inside: EBUSY", &r2, exact, ErrExpectationClash, 1},
		{"other master, other port", &r2, portExpectation(50001), nil, 2},
		// The ftp policy's max_expected 1: the master's older one of
		// the class goes.
		{"same master, new port evicts its oldest", &master, portExpectation(50002), nil, 2},
		{"no master", &Result{}, portExpectation(50003), ErrNoMaster, 2},
		{"bad mask", &master, Expectation{Tuple: exact.Tuple, Mask: 4}, ErrBadExpectation, 2},
	}
	for i, tt := range tests {
		now := t0.Add(time.Duration(i) * time.Second)
		if err := tb.Expect(tt.master, tt.e, now); !errors.Is(err, tt.err) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.err)
		}
		if got := tb.Expectations(now); len(got) != tt.want {
			t.Errorf("%s: %d expectations, want %d: %v", tt.name, len(got), tt.want, got)
		}
	}
	var ports []uint16
	for _, e := range tb.Expectations(t0.Add(time.Minute)) {
		ports = append(ports, e.Tuple.DstPort)
	}
	if len(ports) != 2 || ports[0] != 50001 || ports[1] != 50002 {
		t.Errorf("expected ports %v, want [50001 50002]", ports)
	}
}

func TestExpectationsDieWithTheirMaster(t *testing.T) {
	tb, master := ftpControl(t, 0)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	tb.Flush(t0)
	if n := len(tb.Expectations(t0)); n != 0 {
		t.Errorf("%d expectations after the master was flushed, want 0", n)
	}
}

func TestPermanentExpectationServesManyConnections(t *testing.T) {
	tb, master := ftpControl(t, 0)
	e := portExpectation(50000)
	e.Mask = ExpectAnySrcPort
	e.Flags = ExpectPermanent
	if err := tb.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	for _, port := range []uint16{20, 2020, 3030} {
		if r := step(t, tb, pkt(t, *dataSeg(Original, "S", 1, 0, port, 50000)), t0); r.State != Related {
			t.Errorf("from port %d: %v, want RELATED", port, r.State)
		}
	}
}

func TestExpectationListingLooksLikeConntrackLExpect(t *testing.T) {
	tb, master := ftpControl(t, 0)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	got := tb.Expectations(t0.Add(3 * time.Second))
	want := "297 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 " +
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp"
	if len(got) != 1 || got[0].String() != want {
		t.Errorf("got %v\nwant %q", got, want)
	}
	if m := got[0].Master; m.SrcAddr() != tcpClient || m.DstAddr() != netip.MustParseAddr("10.0.0.2") || m.DstPort != 21 {
		t.Errorf("master %v, want the control connection", m)
	}
}

func TestFlushExpectationsDropsThemAll(t *testing.T) {
	tb, master := ftpControl(t, 0)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	tb.FlushExpectations(t0)
	if got := tb.Expectations(t0); len(got) != 0 {
		t.Errorf("after flush: %d expectations, want 0", len(got))
	}
}

func TestExpectationTakesItsTimeoutFromThePolicy(t *testing.T) {
	tb, master := ftpControl(t, 0)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	got := tb.Expectations(t0)
	if len(got) != 1 || got[0].Timeout != 300*time.Second || got[0].Helper != testFTP {
		t.Errorf("got %v, want one with the ftp policy's 300 s and helper", got)
	}
}

// sipControl is a SIP signalling flow with the sip test helper.
func sipControl(t *testing.T) (*Table, Result) {
	t.Helper()
	tb := NewTable(Config{})
	var r Result
	tb.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 5060, 5060)), 0, t0, true)
	tb.SetHelper(&r, testSIP)
	tb.Confirm(&r)
	return tb, r
}

func rtp(port uint16) Expectation {
	e := Expectation{Tuple: Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, DstPort: port}, Class: 1}
	copy(e.Tuple.Src[:], a("10.0.0.2").AsSlice())
	copy(e.Tuple.Dst[:], a("10.0.0.1").AsSlice())
	return e
}

// A class holds at most its max_expected per master: the third audio
// expectation evicts the first, and a signalling one is not counted.
func TestExpectationClassesAreLimitedSeparately(t *testing.T) {
	tb, master := sipControl(t)
	sig := rtp(5060)
	sig.Class = 0
	for i, e := range []Expectation{rtp(10000), rtp(10002), sig, rtp(10004)} {
		if err := tb.Expect(&master, e, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	var ports []uint16
	for _, e := range tb.Expectations(t0.Add(time.Second)) {
		ports = append(ports, e.Tuple.DstPort)
	}
	if want := []uint16{10002, 5060, 10004}; !slices.Equal(ports, want) {
		t.Errorf("expected ports %v, want %v", ports, want)
	}
}

func TestInactiveExpectationMatchesNothing(t *testing.T) {
	tb, master := ftpControl(t, 0)
	e := portExpectation(50000)
	e.Flags = ExpectInactive
	if err := tb.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	if r := step(t, tb, pkt(t, *dataSeg(Original, "S", 1, 0, 20, 50000)), t0); r.State != New {
		t.Errorf("a SYN to an inactive expectation is %v, want NEW", r.State)
	}
}

// A helper may expect while its master is still unconfirmed (TFTP's
// read request is the master's first packet). Until the master is
// confirmed the expectation matches nothing; if the master is dropped,
// the expectation goes with it.
func TestExpectationOfAnUnconfirmedMaster(t *testing.T) {
	for _, confirm := range []bool{true, false} {
		tb := NewTable(Config{})
		var m Result
		tb.In(&m, pkt(t, udp("10.0.0.1", "10.0.0.2", 3000, 69)), 0, t0, true)
		tb.SetHelper(&m, testFTP)
		e := Expectation{Tuple: Tuple{Family: packet.IPv4, Proto: packet.ProtoUDP, DstPort: 3000}, Mask: ExpectAnySrcPort}
		copy(e.Tuple.Src[:], a("10.0.0.2").AsSlice())
		copy(e.Tuple.Dst[:], a("10.0.0.1").AsSlice())
		if err := tb.Expect(&m, e, t0); err != nil {
			t.Fatal(err)
		}
		var early Result
		tb.In(&early, pkt(t, udp("10.0.0.2", "10.0.0.1", 4000, 3000)), 0, t0, true)
		if early.State != New {
			t.Errorf("before the master is confirmed, the expected packet is %v, want NEW", early.State)
		}
		tb.Abandon(&early)
		if confirm {
			tb.Confirm(&m)
		} else {
			tb.Abandon(&m)
		}
		var r Result
		tb.In(&r, pkt(t, udp("10.0.0.2", "10.0.0.1", 4000, 3000)), 0, t0, true)
		want := New
		if confirm {
			want = Related
		}
		if r.State != want {
			t.Errorf("master confirmed %v: the expected packet is %v, want %v", confirm, r.State, want)
		}
		if n := len(tb.Expectations(t0)); n != 0 {
			t.Errorf("master confirmed %v: %d expectations left, want 0", confirm, n)
		}
	}
}

func TestExpectedConnectionKnowsItsMastersHelper(t *testing.T) {
	tb, master := ftpControl(t, 0)
	e := portExpectation(50000)
	e.Fn, e.Dir, e.SavedPort = ExpectFollowMaster, Reply, 1234
	if err := tb.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	r := step(t, tb, pkt(t, *dataSeg(Original, "S", 7000, 0, 20, 50000)), t0)
	if r.MasterHelper != testFTP || r.Help.Helper != nil {
		t.Errorf("data connection: master helper %v, own helper %v; want ftp and none", r.MasterHelper, r.Help.Helper)
	}
	x, ok := r.Expected()
	if !ok || x.Fn != ExpectFollowMaster || x.SavedPort != 1234 || x.Master != master.Tuple(Original) || x.MasterReply != master.Tuple(Reply) {
		t.Errorf("Expected() = %+v, %v; want the expectation with its master's tuples", x, ok)
	}
	// Later packets still know the master's helper.
	r = step(t, tb, pkt(t, *dataSeg(Reply, "SA", 9000, 7001, 20, 50000)), t0)
	if r.MasterHelper != testFTP {
		t.Errorf("reply: master helper %v, want ftp", r.MasterHelper)
	}
	if _, ok := r.Expected(); ok {
		t.Error("a later packet still reports the expectation")
	}
}

func TestHelperStateIsKeptWithTheConnection(t *testing.T) {
	tb, r := ftpControl(t, 0)
	if r.Help.Helper != testFTP {
		t.Fatalf("master's helper %v, want ftp", r.Help.Helper)
	}
	var d [HelpDataSize]byte
	copy(d[:], "state after a newline")
	tb.SetHelpData(&r, &d)
	// The next packet of the connection finds it.
	var next Result
	tb.In(&next, pkt(t, testpkt.Spec{Src: tcpClient, Dst: tcpServer, Proto: "tcp", SrcPort: 40000, DstPort: 21, Flags: "A", Seq: 1001, Ack: 5001}), 0, t0, true)
	if next.Help.Helper != testFTP || next.Help.Data != d {
		t.Errorf("next packet: help %v %q, want ftp and the state stored", next.Help.Helper, next.Help.Data[:])
	}
	if next.Status&StatusHelper == 0 {
		t.Error("HELPER status bit not set")
	}
}

func TestExpectationEvents(t *testing.T) {
	tb, master := ftpControl(t, 0)
	sub := tb.SubscribeExpectations(8)
	defer sub.Close()
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	step(t, tb, pkt(t, *dataSeg(Original, "S", 7000, 0, 20, 50000)), t0.Add(2*time.Second))
	want := []string{
		"    [NEW] 300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp",
		"[DESTROY] 298 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp",
	}
	for i, w := range want {
		select {
		case ev := <-sub.Events():
			if ev.String() != w {
				t.Errorf("event %d:\n got %s\nwant %s", i, ev, w)
			}
		default:
			t.Fatalf("event %d missing", i)
		}
	}
}

// The expected connection gets the mark its master has when it
// arrives, not the one it had when the helper expected it.
func TestExpectedConnectionTakesTheMastersMarkOfNow(t *testing.T) {
	tb, master := ftpControl(t, 1)
	if err := tb.Expect(&master, portExpectation(50000), t0); err != nil {
		t.Fatal(err)
	}
	tb.SetMark(&master, 2, t0)
	if r := step(t, tb, pkt(t, *dataSeg(Original, "S", 7000, 0, 20, 50000)), t0); r.Mark != 2 {
		t.Errorf("mark %d, want the master's mark of now, 2", r.Mark)
	}
}

// A broadcast query's expectation takes answers from its subnet only,
// as the kernel's source mask does.
func TestExpectationOfASubnet(t *testing.T) {
	tb, master := ftpControl(t, 0)
	e := Expectation{Tuple: Tuple{Family: packet.IPv4, Proto: packet.ProtoTCP, SrcPort: 20, DstPort: 50000}, SrcBits: 24}
	copy(e.Tuple.Src[:], a("10.0.0.255").AsSlice())
	copy(e.Tuple.Dst[:], tcpClient.AsSlice())
	e.Flags = ExpectPermanent
	if err := tb.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		want State
	}{{"10.0.0.7", Related}, {"10.0.0.200", Related}, {"10.0.1.7", New}} {
		s := testpkt.Spec{Src: a(tc.src), Dst: tcpClient, Proto: "tcp", SrcPort: 20, DstPort: 50000, Flags: "S"}
		if r := step(t, tb, pkt(t, s), t0); r.State != tc.want {
			t.Errorf("from %s: %v, want %v", tc.src, r.State, tc.want)
		}
	}
	if got := tb.Expectations(t0)[0].String(); !strings.Contains(got, "mask-src=255.255.255.0 ") {
		t.Errorf("listing %q, want mask-src=255.255.255.0", got)
	}
}
