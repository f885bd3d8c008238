package conntrack

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// The endpoints of the tests' connection: the client sends in the
// original direction.
var (
	tcpClient = netip.MustParseAddr("10.0.0.1")
	tcpServer = netip.MustParseAddr("10.0.0.2")
)

const (
	day = 24 * time.Hour
	// keep is the Timeout of a packet after which the kernel leaves the
	// entry's timeout alone.
	keep time.Duration = 0
)

// seg is one TCP segment of a scenario and what the tracker must say
// about it, as derived from nf_conntrack_proto_tcp.c.
type seg struct {
	dir      Dir
	flags    string
	seq, ack uint32
	win      uint16 // 0 means 64240
	data     int    // payload bytes
	opt      func(*testpkt.Spec)

	state   TCPState
	invalid bool
	reason  string // a substring of Reason; "" means Reason must be empty
	timeout time.Duration
	assured bool
	kill    bool
	repeat  bool
}

// tcpPacket builds and decodes the segment.
func (s seg) packet(t testing.TB) *packet.Packet {
	t.Helper()
	spec := testpkt.Spec{Src: tcpClient, Dst: tcpServer, Proto: "tcp", SrcPort: 40000, DstPort: 80,
		Flags: s.flags, Seq: s.seq, Ack: s.ack, Window: s.win}
	if s.dir == Reply {
		spec.Src, spec.Dst, spec.SrcPort, spec.DstPort = tcpServer, tcpClient, 80, 40000
	}
	if s.data > 0 {
		spec.Payload = make([]byte, s.data)
	}
	if s.opt != nil {
		s.opt(&spec)
	}
	var p packet.Packet
	p.Decode(testpkt.Build(spec))
	if p.Invalid != packet.OK {
		t.Fatalf("bad test packet: %v", p.Invalid)
	}
	return &p
}

// tcpConn runs segments through the tracker as the table does: start and
// then update for the first packet of a connection, SEEN_REPLY once a
// reply is accepted, ASSURED when asked, and a fresh entry after a kill
// or a repeat.
type tcpConn struct {
	tr     tcpTrack
	status Status
	live   bool
	cfg    TCPConfig
	to     Timeouts
}

func newTCPConn() *tcpConn { return &tcpConn{to: DefaultTimeouts()} }

// step feeds one packet and returns the result.
func (c *tcpConn) step(p *packet.Packet, dir Dir) tcpResult {
	if !c.live {
		if why := c.tr.start(p, &c.cfg); why != "" {
			return tcpResult{Invalid: true, Reason: why}
		}
		c.status = 0
	}
	res := c.tr.update(p, dir, c.status, &c.cfg, &c.to, 0)
	switch {
	case res.Invalid:
		return res
	case res.Repeat:
		c.live = false
		return res
	}
	c.live = !res.Kill
	if dir == Reply {
		c.status |= StatusSeenReply
	}
	if res.Assured {
		c.status |= StatusAssured
	}
	return res
}

// run checks every segment of a scenario in turn.
func (c *tcpConn) run(t *testing.T, segs []seg) {
	t.Helper()
	for i, s := range segs {
		before := c.tr
		res := c.step(s.packet(t), s.dir)
		where := func() string {
			return strings.Join([]string{s.dir.String(), s.flags}, " ")
		}
		if res.Invalid != s.invalid || res.Kill != s.kill || res.Repeat != s.repeat || res.Assured != s.assured {
			t.Fatalf("step %d (%s): got %+v, want invalid=%v kill=%v repeat=%v assured=%v",
				i, where(), res, s.invalid, s.kill, s.repeat, s.assured)
		}
		if s.reason == "" && res.Reason != "" || !strings.Contains(res.Reason, s.reason) {
			t.Fatalf("step %d (%s): reason %q, want %q", i, where(), res.Reason, s.reason)
		}
		if s.repeat {
			// The caller starts afresh with the same packet, whose
			// direction is now the new entry's original one.
			res = c.step(s.packet(t), Original)
			if res.Invalid {
				t.Fatalf("step %d (%s): repeated packet invalid: %s", i, where(), res.Reason)
			}
		}
		if got := c.tr.State(); got != s.state {
			t.Fatalf("step %d (%s): state %v, want %v", i, where(), got, s.state)
		}
		if s.invalid && !s.repeat && c.tr.State() != before.State() {
			t.Fatalf("step %d (%s): invalid packet changed the state", i, where())
		}
		if !s.invalid && res.Timeout != s.timeout {
			t.Fatalf("step %d (%s): timeout %v, want %v", i, where(), res.Timeout, s.timeout)
		}
	}
}

// handshake is a plain three-way handshake: client ISN 1000, server ISN
// 5000, both windows 64240, no options.
var handshake = []seg{
	{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
	{dir: Reply, flags: "SA", seq: 5000, ack: 1001, state: TCPSynRecv, timeout: 60 * time.Second},
	{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished, timeout: 5 * day, assured: true},
}

func scenario(parts ...[]seg) []seg {
	var all []seg
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestTCPHandshakeReachesEstablished(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		// Data not yet acknowledged caps the timeout at UNACK.
		{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 100, state: TCPEstablished, timeout: 5 * time.Minute},
		{dir: Reply, flags: "A", seq: 5001, ack: 1101, state: TCPEstablished, timeout: 5 * day},
	}))
}

func TestTCPSynRetransmissionDoesNotRenewTimeout(t *testing.T) {
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: keep},
	})
}

func TestTCPSimultaneousOpen(t *testing.T) {
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
		// SYN_SENT2; still no reply seen, so like a retransmitted SYN
		// it does not renew the timeout.
		{dir: Reply, flags: "S", seq: 5000, state: TCPSynSent2, timeout: keep},
		{dir: Original, flags: "SA", seq: 1000, ack: 5001, state: TCPSynRecv, timeout: 60 * time.Second},
		// The table says SYN_RECV; the simultaneous-open mark makes it
		// ESTABLISHED.
		{dir: Reply, flags: "A", seq: 5001, ack: 1001, state: TCPEstablished, timeout: 5 * day, assured: true},
	})
}

func TestTCPWindowRejectsSeqAboveUpperBound(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		// td_maxend is 1001+64240; this is far beyond, by more than
		// the receiver's window.
		{dir: Original, flags: "PA", seq: 201001, ack: 5001, data: 10, state: TCPEstablished,
			invalid: true, reason: "SEQ is over upper bound (over the window of the receiver)"},
		// The connection goes on.
		{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 10, state: TCPEstablished, timeout: 5 * time.Minute},
	}))
}

func TestTCPWindowSmallOvershootIsIgnored(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		// Over td_maxend by less than the receiver's window: let
		// through, state and timeout untouched.
		{dir: Original, flags: "PA", seq: 71001, ack: 5001, data: 10, state: TCPEstablished,
			reason: "bytes more than expected", timeout: keep},
		// td_end now covers that data, so its ACK is not "over upper
		// bound".
		{dir: Reply, flags: "A", seq: 5001, ack: 71011, state: TCPEstablished, timeout: 5 * day},
	}))
}

func TestTCPAckAboveUpperBoundIsInvalid(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		{dir: Original, flags: "A", seq: 1001, ack: 6001, state: TCPEstablished,
			invalid: true, reason: "ACK is over upper bound (ACKed data not seen yet)"},
		{dir: Reply, flags: "A", seq: 5001, ack: 1002, state: TCPEstablished,
			invalid: true, reason: "ACK is over upper bound"},
	}))
}

func TestTCPOldRetransmissionIsIgnored(t *testing.T) {
	// The server's window is 1000, so II rejects data more than 1000
	// bytes behind what the client has sent.
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
		{dir: Reply, flags: "SA", seq: 5000, ack: 1001, win: 1000, state: TCPSynRecv, timeout: 60 * time.Second},
		{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished, timeout: 5 * day, assured: true},
		{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 1000, state: TCPEstablished, timeout: 5 * time.Minute},
		{dir: Reply, flags: "A", seq: 5001, ack: 2001, win: 1000, state: TCPEstablished, timeout: 5 * day},
		{dir: Original, flags: "PA", seq: 2001, ack: 5001, data: 1000, state: TCPEstablished, timeout: 5 * time.Minute},
		{dir: Reply, flags: "A", seq: 5001, ack: 3001, win: 1000, state: TCPEstablished, timeout: 5 * day},
		{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 100, state: TCPEstablished,
			reason: "SEQ is under lower bound (already ACKed data retransmitted)", timeout: keep},
	})
}

func TestTCPAckUnderLowerBoundIsIgnored(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		{dir: Reply, flags: "PA", seq: 5001, ack: 1001, data: 40000, state: TCPEstablished, timeout: 5 * time.Minute},
		{dir: Original, flags: "A", seq: 1001, ack: 45001, state: TCPEstablished, timeout: 5 * day},
		{dir: Reply, flags: "PA", seq: 45001, ack: 1001, data: 40000, state: TCPEstablished, timeout: 5 * time.Minute},
		// An ACK 80000 bytes behind: more than MAXACKWINDOW (66000).
		{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished,
			reason: "ignored ACK under lower bound (possible overly delayed)", timeout: keep},
	}))
}

func TestTCPRstOutOfWindowIsInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  TCPConfig
		rst  seg
	}{
		{"exact seq closes", TCPConfig{},
			seg{dir: Reply, flags: "R", seq: 5001, state: TCPClose, timeout: 10 * time.Second}},
		{"seq below the peer's ack", TCPConfig{},
			seg{dir: Reply, flags: "R", seq: 4000, state: TCPEstablished, invalid: true, reason: "invalid rst"}},
		{"seq below the peer's ack with ignore_invalid_rst", TCPConfig{IgnoreInvalidRST: true},
			seg{dir: Reply, flags: "R", seq: 4000, state: TCPEstablished, timeout: 10 * time.Second}},
		// RFC 5961 3.2: in window but not exact. The peer answers with
		// a challenge ACK, so the connection stays ESTABLISHED (with
		// the CLOSE timeout).
		{"in window, not exact", TCPConfig{},
			seg{dir: Reply, flags: "R", seq: 5101, state: TCPEstablished, timeout: 10 * time.Second}},
		{"beyond the window", TCPConfig{},
			seg{dir: Reply, flags: "R", seq: 1005001, state: TCPEstablished, invalid: true,
				reason: "SEQ is over upper bound"}},
		{"RST+ACK with zero ack counts as acking everything", TCPConfig{},
			seg{dir: Original, flags: "RA", seq: 1001, ack: 0, state: TCPClose, timeout: 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTCPConn()
			c.cfg = tt.cfg
			c.run(t, scenario(handshake, []seg{tt.rst}))
		})
	}
}

func TestTCPRstBeforeReplyKills(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		newTCPConn().run(t, []seg{
			{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
			// seq 0 answering a SYN is taken as in window.
			{dir: Reply, flags: "RA", seq: 0, ack: 1001, state: TCPClose, timeout: 10 * time.Second, kill: true},
		})
	})
	t.Run("client aborts", func(t *testing.T) {
		newTCPConn().run(t, []seg{
			{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
			{dir: Original, flags: "R", seq: 1001, state: TCPClose, timeout: 10 * time.Second, kill: true},
		})
	})
}

func TestTCPFinSequenceToTimeWait(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		{dir: Original, flags: "FA", seq: 1001, ack: 5001, state: TCPFinWait, timeout: 2 * time.Minute},
		{dir: Reply, flags: "A", seq: 5001, ack: 1002, state: TCPCloseWait, timeout: 60 * time.Second},
		{dir: Reply, flags: "FA", seq: 5001, ack: 1002, state: TCPLastAck, timeout: 30 * time.Second},
		{dir: Original, flags: "A", seq: 1002, ack: 5002, state: TCPTimeWait, timeout: 2 * time.Minute},
		// A retransmitted last ACK stays in TIME_WAIT.
		{dir: Original, flags: "A", seq: 1002, ack: 5002, state: TCPTimeWait, timeout: 2 * time.Minute},
	}))
}

// closed is a connection closed by the client, now in TIME_WAIT.
var closed = scenario(handshake, []seg{
	{dir: Original, flags: "FA", seq: 1001, ack: 5001, state: TCPFinWait, timeout: 2 * time.Minute},
	{dir: Reply, flags: "FA", seq: 5001, ack: 1002, state: TCPLastAck, timeout: 30 * time.Second},
	{dir: Original, flags: "A", seq: 1002, ack: 5002, state: TCPTimeWait, timeout: 2 * time.Minute},
})

func TestTCPSynInTimeWaitRepeats(t *testing.T) {
	t.Run("client reopens", func(t *testing.T) {
		newTCPConn().run(t, scenario(closed, []seg{
			{dir: Original, flags: "S", seq: 90000, state: TCPSynSent, repeat: true, timeout: 2 * time.Minute},
		}))
	})
	// Mainline 6.x: the server may have switched roles. The new entry
	// starts from the SYN as its original direction.
	t.Run("server reopens", func(t *testing.T) {
		newTCPConn().run(t, scenario(closed, []seg{
			{dir: Reply, flags: "S", seq: 90000, state: TCPSynSent, repeat: true, timeout: 2 * time.Minute},
		}))
	})
}

func TestTCPLoosePickupMidStream(t *testing.T) {
	newTCPConn().run(t, []seg{
		// Picked up as ESTABLISHED, liberal. The ack is beyond what
		// the tracker knows of the reply direction, accepted without
		// a window update, so last_win is still 0: RETRANS cap.
		{dir: Original, flags: "A", seq: 1000, ack: 2000, win: 1000, state: TCPEstablished, timeout: 5 * time.Minute},
		// The first reply: no SEEN_REPLY yet, so capped at UNACK.
		{dir: Reply, flags: "A", seq: 2000, ack: 1000, win: 1000, state: TCPEstablished, timeout: 5 * time.Minute},
		{dir: Original, flags: "A", seq: 1000, ack: 2000, win: 1000, state: TCPEstablished, timeout: 5 * day, assured: true},
	})
}

func TestTCPNoLooseRefusesPickup(t *testing.T) {
	c := newTCPConn()
	c.cfg.NoLoose = true
	c.run(t, []seg{
		{dir: Original, flags: "A", seq: 1000, ack: 2000, state: TCPNone, invalid: true, reason: "loose"},
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
	})
}

func TestTCPInvalidNew(t *testing.T) {
	for _, flags := range []string{"SA", "FA", "R", "RA"} {
		var tr tcpTrack
		p := seg{flags: flags, seq: 1, ack: 1}.packet(t)
		if got := tr.start(p, &TCPConfig{}); got != "invalid new" {
			t.Errorf("%s: start = %q, want %q", flags, got, "invalid new")
		}
	}
}

func TestTCPInvalidTransitions(t *testing.T) {
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
		{dir: Original, flags: "A", seq: 1001, ack: 1, state: TCPSynSent, invalid: true,
			reason: "packet (index 3) in dir 0 invalid, state SYN_SENT"},
		{dir: Original, flags: "SA", seq: 1000, ack: 1, state: TCPSynSent, invalid: true,
			reason: "packet (index 1) in dir 0 invalid, state SYN_SENT"},
		{dir: Reply, flags: "FA", seq: 5000, ack: 1001, state: TCPSynSent, invalid: true,
			reason: "packet (index 2) in dir 1 invalid, state SYN_SENT"},
		// A reply ACK in SYN_SENT may belong to a half-open
		// connection: ignored.
		{dir: Reply, flags: "A", seq: 5000, ack: 1001, state: TCPSynSent,
			reason: "packet (index 3) in dir 1 ignored, state SYN_SENT", timeout: keep},
	})
}

func TestTCPWindowScaleOnlyWhenBothSides(t *testing.T) {
	ws := func(s *testpkt.Spec) { s.HasWScale, s.WScale = true, 7 }
	tests := []struct {
		name         string
		client, serv func(*testpkt.Spec)
		scaled       bool
	}{
		{"both", ws, ws, true},
		{"client only", ws, nil, false},
		{"server only", nil, ws, false},
		{"neither", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// With scaling, the server's window of 1000 is 128000
			// bytes; without, 1000.
			far := seg{dir: Original, flags: "PA", seq: 100001, ack: 5001, data: 10, state: TCPEstablished,
				timeout: 5 * time.Minute}
			if !tt.scaled {
				far.invalid, far.reason, far.timeout = true, "SEQ is over upper bound", 0
			}
			newTCPConn().run(t, []seg{
				{dir: Original, flags: "S", seq: 1000, opt: tt.client, state: TCPSynSent, timeout: 2 * time.Minute},
				{dir: Reply, flags: "SA", seq: 5000, ack: 1001, win: 1000, opt: tt.serv, state: TCPSynRecv, timeout: 60 * time.Second},
				{dir: Original, flags: "A", seq: 1001, ack: 5001, win: 500, state: TCPEstablished, timeout: 5 * day, assured: true},
				{dir: Reply, flags: "A", seq: 5001, ack: 1001, win: 1000, state: TCPEstablished, timeout: 5 * day},
				far,
			})
		})
	}
}

func TestTCPSackRightEdgeCountsAsAck(t *testing.T) {
	sackPerm := func(s *testpkt.Spec) { s.SACKPermitted = true }
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, opt: sackPerm, state: TCPSynSent, timeout: 2 * time.Minute},
		{dir: Reply, flags: "SA", seq: 5000, ack: 1001, opt: sackPerm, state: TCPSynRecv, timeout: 60 * time.Second},
		{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished, timeout: 5 * day, assured: true},
		{dir: Reply, flags: "PA", seq: 5001, ack: 1001, data: 100, state: TCPEstablished, timeout: 5 * time.Minute},
		// A SACK block beyond what the server sent fails III even
		// though the ack itself is fine.
		{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished, invalid: true,
			reason: "ACK is over upper bound",
			opt:    func(s *testpkt.Spec) { s.SACK = [][2]uint32{{5001, 5050}, {5060, 5200}} }},
		{dir: Original, flags: "A", seq: 1001, ack: 5001, state: TCPEstablished, timeout: 5 * time.Minute,
			opt: func(s *testpkt.Spec) { s.SACK = [][2]uint32{{5050, 5101}} }},
	})
}

func TestTCPRetransmissionsCapTimeout(t *testing.T) {
	const retrans, unack = 100 * time.Second, 200 * time.Second
	data := seg{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 100, state: TCPEstablished, timeout: unack}
	capped := data
	capped.timeout = retrans
	// last_win is 0 until an ACK is recorded, so with a RETRANS timeout
	// below SYN_SENT's the SYN already gets the RETRANS cap.
	handshake := append([]seg(nil), handshake...)
	handshake[0].timeout = retrans
	t.Run("max_retrans 3", func(t *testing.T) {
		c := newTCPConn()
		c.to.TCPRetrans, c.to.TCPUnack = retrans, unack
		c.run(t, scenario(handshake, []seg{data, data, data, capped, capped,
			// A new ACK from the other side resets the count.
			{dir: Reply, flags: "A", seq: 5001, ack: 1101, state: TCPEstablished, timeout: 5 * day},
		}))
	})
	t.Run("max_retrans 1", func(t *testing.T) {
		c := newTCPConn()
		c.cfg.MaxRetrans = 1
		c.to.TCPRetrans, c.to.TCPUnack = retrans, unack
		c.run(t, scenario(handshake, []seg{data, capped}))
	})
	t.Run("zero window", func(t *testing.T) {
		c := newTCPConn()
		c.to.TCPRetrans, c.to.TCPUnack = retrans, unack
		c.run(t, scenario(handshake, []seg{
			{dir: Reply, flags: "A", seq: 5001, ack: 1001, state: TCPEstablished, timeout: retrans,
				opt: func(s *testpkt.Spec) { s.ZeroWindow = true }},
		}))
	})
}

func TestTCPIgnoredSynResyncsOnSynAck(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		// The client restarted; we still hold the old connection.
		{dir: Original, flags: "S", seq: 90000, state: TCPEstablished,
			reason: "packet (index 0) in dir 0 ignored, state ESTABLISHED", timeout: keep},
		// A SYN/ACK that does not answer it is ignored too.
		{dir: Reply, flags: "SA", seq: 7000, ack: 12345, state: TCPEstablished, reason: "ignored", timeout: keep},
		// The server answers the last ignored SYN... but the SYN/ACK
		// above replaced it as the last ignored packet.
		{dir: Reply, flags: "SA", seq: 7000, ack: 90001, state: TCPEstablished, reason: "ignored", timeout: keep},
		{dir: Original, flags: "S", seq: 90000, state: TCPEstablished, reason: "ignored", timeout: keep},
		// Now it answers it: client and server agree, we resync.
		{dir: Reply, flags: "SA", seq: 7000, ack: 90001, state: TCPSynRecv, timeout: 60 * time.Second},
		{dir: Original, flags: "A", seq: 90001, ack: 7001, state: TCPEstablished, timeout: 5 * day},
	}))
}

func TestTCPChallengeAckInLastAck(t *testing.T) {
	newTCPConn().run(t, scenario(handshake, []seg{
		{dir: Original, flags: "FA", seq: 1001, ack: 5001, state: TCPFinWait, timeout: 2 * time.Minute},
		{dir: Reply, flags: "FA", seq: 5001, ack: 1002, state: TCPLastAck, timeout: 30 * time.Second},
		// A new SYN before the last ACK; the server answers it with an
		// RFC 5961 challenge ACK, which must not move us to TIME_WAIT.
		{dir: Original, flags: "S", seq: 90000, state: TCPLastAck, reason: "ignored", timeout: keep},
		{dir: Reply, flags: "A", seq: 5002, ack: 1002, state: TCPLastAck, reason: "challenge-ack ignored", timeout: keep},
		{dir: Original, flags: "A", seq: 1002, ack: 5002, state: TCPTimeWait, timeout: 2 * time.Minute},
	}))
}

func TestTCPRstAnsweringChallengeAckInSynSent(t *testing.T) {
	newTCPConn().run(t, []seg{
		{dir: Original, flags: "S", seq: 1000, state: TCPSynSent, timeout: 2 * time.Minute},
		// The server holds an old connection and sends a challenge
		// ACK; the client resets it with the acked sequence number.
		{dir: Reply, flags: "A", seq: 7000, ack: 12345, state: TCPSynSent, reason: "ignored", timeout: keep},
		{dir: Original, flags: "R", seq: 12345, state: TCPClose, timeout: 10 * time.Second},
	})
}

func TestTCPBeLiberalAcceptsOutOfWindow(t *testing.T) {
	c := newTCPConn()
	c.cfg.BeLiberal = true
	c.run(t, scenario(handshake, []seg{
		{dir: Original, flags: "PA", seq: 201001, ack: 5001, data: 10, state: TCPEstablished, timeout: 5 * day},
		{dir: Original, flags: "A", seq: 1001, ack: 6001, state: TCPEstablished, timeout: 5 * day},
		// Only RSTs below the peer's ack stay invalid.
		{dir: Reply, flags: "R", seq: 4000, state: TCPEstablished, invalid: true, reason: "invalid rst"},
	}))
}

func TestTCPInvalidFinOrRstShrinksAssuredTimeout(t *testing.T) {
	c := newTCPConn()
	c.run(t, handshake)
	far := seg{dir: Original, flags: "FA", seq: 201001, ack: 5001}.packet(t)
	res := c.tr.update(far, Original, c.status, &c.cfg, &c.to, 0)
	if !res.Invalid || res.Shrink {
		t.Fatalf("first out-of-window FIN: %+v, want invalid without shrink", res)
	}
	rst := seg{dir: Reply, flags: "R", seq: 1005001}.packet(t)
	res = c.tr.update(rst, Reply, c.status, &c.cfg, &c.to, 0)
	if !res.Invalid || !res.Shrink || res.Timeout != c.to.TCPUnack {
		t.Fatalf("out-of-window RST after it: %+v, want invalid, shrink to %v", res, c.to.TCPUnack)
	}
}

func TestTCPInvalidFlagCombinations(t *testing.T) {
	tests := []struct {
		flags string
		want  string
	}{
		{"S", ""}, {"SU", ""}, {"SA", ""}, {"R", ""}, {"RA", ""}, {"FA", ""}, {"FAU", ""},
		{"A", ""}, {"AU", ""},
		// PSH, ECE and CWR never matter.
		{"PA", ""}, {"SEC", ""}, {"FPAEC", ""},
		{"", "invalid tcp flag combination"},
		{"F", "invalid tcp flag combination"},
		{"SF", "invalid tcp flag combination"},
		{"SR", "invalid tcp flag combination"},
		{"SFA", "invalid tcp flag combination"},
		{"RF", "invalid tcp flag combination"},
		{"SRA", "invalid tcp flag combination"},
		{"FPU", "invalid tcp flag combination"},
		{"U", "invalid tcp flag combination"},
		{"P", "invalid tcp flag combination"},
		{"SFRPAU", "invalid tcp flag combination"},
	}
	for _, tt := range tests {
		p := seg{flags: tt.flags, seq: 1, ack: 1}.packet(t)
		if got := tcpError(p, true); got != tt.want {
			t.Errorf("flags %q: tcpError = %q, want %q", tt.flags, got, tt.want)
		}
	}
}

func TestTCPErrorTruncatedAndChecksum(t *testing.T) {
	spec := testpkt.Spec{Src: tcpClient, Dst: tcpServer, Proto: "tcp", SrcPort: 1, DstPort: 2, Flags: "A",
		Payload: []byte("hello")}
	b := testpkt.Build(spec)
	var p packet.Packet
	p.Decode(testpkt.Truncate(b, 20+12))
	if got := tcpError(&p, false); got != "truncated packet" {
		t.Errorf("truncated: %q", got)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] ^= 0xff
	p.Decode(bad)
	if got := tcpError(&p, true); got != "bad checksum" {
		t.Errorf("bad checksum, checked: %q", got)
	}
	if got := tcpError(&p, false); got != "" {
		t.Errorf("bad checksum, not checked: %q", got)
	}
}

func TestTCPTrackIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(tcpTrack{}); n > 52 {
		t.Errorf("tcpTrack is %d bytes, want at most 52", n)
	}
}

func TestTCPUpdateAllocatesNothing(t *testing.T) {
	c := newTCPConn()
	c.run(t, handshake)
	data := seg{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 100}.packet(t)
	ignored := seg{dir: Original, flags: "S", seq: 90000}.packet(t)
	invalid := seg{dir: Original, flags: "A", seq: 1001, ack: 9999}.packet(t)
	for name, p := range map[string]*packet.Packet{"data": data, "ignored": ignored, "invalid": invalid} {
		if n := testing.AllocsPerRun(100, func() {
			_ = c.tr.update(p, Original, c.status, &c.cfg, &c.to, 0)
		}); n != 0 {
			t.Errorf("%s: update allocates %v times", name, n)
		}
	}
}
