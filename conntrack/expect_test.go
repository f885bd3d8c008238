package conntrack

import (
	"errors"
	"net/netip"
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
	tb := NewTable(Config{})
	var r Result
	for _, s := range handshake {
		spec := s
		spec.opt = func(p *testpkt.Spec) {
			if p.DstPort == 80 {
				p.DstPort = 21
			} else {
				p.SrcPort = 21
			}
		}
		r = step(t, tb, spec.packet(t), t0)
	}
	tb.SetMark(&r, mark, t0)
	return tb, r
}

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
	return Expectation{Tuple: tp, Mask: ExpectAnySrcPort, Helper: "ftp", MaxExpected: 1}
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
		// MaxExpected 1: the master's older one of the class goes.
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
	e.Permanent = true
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
	tb.FlushExpectations()
	if got := tb.Expectations(t0); len(got) != 0 {
		t.Errorf("after flush: %d expectations, want 0", len(got))
	}
}
