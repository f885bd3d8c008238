package helpers

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

var t0 = time.Unix(1_700_000_000, 0)

// conn is a control connection between client and server with a helper
// attached, established, as a helper meets it: the packets are built as
// they are when the helper sees them, after NAT.
type conn struct {
	t      testing.TB
	tb     *conntrack.Table
	h      *Helper
	proto  string
	client netip.Addr // as the client knows itself
	public netip.Addr // the client as the server sees it (SNAT), or client
	server netip.Addr
	cport  uint16
	sport  uint16
	seq    [2]uint32 // each direction's next sequence number, as sent
	// shift is how much a helper's rewrites have grown each direction's
	// stream as its receiver gets it, which the receiver acknowledges.
	shift [2]int32
	data  [conntrack.HelpDataSize]byte
}

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

// newConn sets up the connection; public differs from client for a
// source-NATed one.
func newConn(t testing.TB, h *Helper, proto string, client, public, server netip.Addr, sport uint16) *conn {
	return newConnPorts(t, h, proto, client, public, server, 40000, sport)
}

// newConnPorts is newConn with the client's port too.
func newConnPorts(t testing.TB, h *Helper, proto string, client, public, server netip.Addr, cport, sport uint16) *conn {
	return newConnIn(t, conntrack.NewTable(conntrack.Config{}), h, proto, client, public, server, cport, sport)
}

// newConnIn is newConnPorts in table tb, beside other connections.
func newConnIn(t testing.TB, tb *conntrack.Table, h *Helper, proto string, client, public, server netip.Addr, cport, sport uint16) *conn {
	c := &conn{t: t, tb: tb, h: h, proto: proto, client: client, public: public, server: server, cport: cport, sport: sport, seq: [2]uint32{1000, 5000}}
	var r conntrack.Result
	c.tb.In(&r, c.pkt(conntrack.Original, "S", ""), 0, t0, false)
	if public != client {
		reply := r.Tuple(conntrack.Reply)
		copy(reply.Dst[:], public.AsSlice())
		if !c.tb.SetReply(&r, reply, conntrack.StatusSrcNAT|conntrack.StatusSrcNATDone) {
			t.Fatal("SetReply")
		}
	}
	if !c.tb.SetHelper(&r, h) || !c.tb.Confirm(&r) {
		t.Fatal("could not set up the connection")
	}
	if proto == "tcp" {
		c.seq[conntrack.Original]++
		for _, s := range []struct {
			d     conntrack.Dir
			flags string
		}{{conntrack.Reply, "SA"}, {conntrack.Original, "A"}} {
			c.tb.In(&r, c.pkt(s.d, s.flags, ""), 0, t0, false)
			if !r.Tracked() {
				t.Fatalf("handshake: %v", r.Reason)
			}
			if s.d == conntrack.Reply {
				c.seq[conntrack.Reply]++
			}
		}
	}
	return c
}

// pkt builds a packet of direction d, as it is after NAT.
func (c *conn) pkt(d conntrack.Dir, flags, payload string) *packet.Packet {
	s := testpkt.Spec{Src: c.client, Dst: c.server, SrcPort: c.cport, DstPort: c.sport, Proto: c.proto, Payload: []byte(payload)}
	if d == conntrack.Reply {
		s.Src, s.Dst, s.SrcPort, s.DstPort = c.server, c.public, c.sport, c.cport
	}
	if c.proto == "tcp" {
		s.Flags, s.Seq = flags, c.seq[d]
		if strings.Contains(flags, "A") {
			s.Ack = c.seq[1-d] + uint32(c.shift[1-d])
		}
	}
	b := testpkt.Build(s)
	var p packet.Packet
	p.Decode(append(make([]byte, 0, len(b)+256), b...))
	return &p
}

// send hands one data packet to the helper and returns its verdict and
// the packet as the helper left it.
func (c *conn) send(d conntrack.Dir, payload string) (Verdict, *packet.Packet) {
	p := c.pkt(d, "PA", payload)
	var r conntrack.Result
	c.tb.In(&r, p, 0, t0, false)
	if !r.Tracked() {
		c.t.Fatalf("%q: conntrack says %v", payload, r.Reason)
	}
	c.data = r.Help.Data
	v := c.h.Help(&Call{Packet: p, CT: &r, Table: c.tb, Now: t0, Data: &c.data})
	c.tb.SetHelpData(&r, &c.data)
	if !v.Drop {
		c.seq[d] += uint32(len(payload))
		c.shift[d] += int32(len(p.Payload()) - len(payload))
	}
	return v, p
}

// expected returns the expectations as conntrack -L expect lines, their
// timeouts cut.
func (c *conn) expected() []string {
	var out []string
	for _, e := range c.tb.Expectations(t0) {
		s := e.String()
		_, rest, _ := strings.Cut(s, " ")
		out = append(out, rest)
	}
	return out
}

func TestFTPCommands(t *testing.T) {
	set := New(Config{})
	ftp := set.Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	const master4 = "master-src=10.0.0.5 master-dst=203.0.113.5 sport=40000 dport=21 class=0 helper=ftp"
	exp4 := func(src, dst string, port int) string {
		return "proto=6 src=" + src + " dst=" + dst + " sport=0 dport=" + itoa(port) +
			" mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 " + master4
	}
	for _, tc := range []struct {
		name   string
		dir    conntrack.Dir
		lines  []string // sent before, in the same direction, to set the line start
		cmd    string
		drop   string
		expect []string
	}{
		{name: "PORT", cmd: "PORT 10,0,0,5,195,80\r\n", expect: []string{exp4("203.0.113.5", "10.0.0.5", 50000)}},
		{name: "port in lower case", cmd: "port 10,0,0,5,195,80\r\n", expect: []string{exp4("203.0.113.5", "10.0.0.5", 50000)}},
		{name: "PORT with two spaces before the numbers", cmd: "PORT  10,0,0,5,195,80\r\n", drop: "partial matching of `PORT'"},
		{name: "PORT cut short", cmd: "PORT 10,0,0,5,19", drop: "partial matching of `PORT'"},
		{name: "PORT without a space", cmd: "PORT", drop: "partial matching of `PORT'"},
		{name: "the start of PORT", cmd: "POR", drop: "partial matching of `PORT'"},
		{name: "PORT with a seventh number", cmd: "PORT 10,0,0,5,195,80,1\r\n", drop: "partial matching of `PORT'"},
		{name: "PORT ending in LF only", cmd: "PORT 10,0,0,5,195,80\n", drop: "partial matching of `PORT'"},
		{name: "PORT naming another host", cmd: "PORT 10,0,0,6,195,80\r\n"},
		{name: "EPRT", cmd: "EPRT |1|10.0.0.5|50001|\r\n", expect: []string{exp4("203.0.113.5", "10.0.0.5", 50001)}},
		{name: "EPRT with another delimiter", cmd: "EPRT !1!10.0.0.5!50001!\r\n", expect: []string{exp4("203.0.113.5", "10.0.0.5", 50001)}},
		{name: "EPRT of IPv6 on IPv4", cmd: "EPRT |2|::1|50001|\r\n", drop: "partial matching of `EPRT'"},
		{name: "EPRT with port 0", cmd: "EPRT |1|10.0.0.5|0|\r\n", drop: "partial matching of `EPRT'"},
		{name: "EPRT with a digit as delimiter", cmd: "EPRT 1110.0.0.5150001|\r\n", drop: "partial matching of `EPRT'"},
		{name: "a command after a line in the same packet is not seen", cmd: "NOOP\r\nPORT 10,0,0,5,195,80\r\n"},
		{name: "a reply in the client's direction is no command", cmd: "227 Entering Passive Mode (10,0,0,5,195,80)\r\n"},
		{name: "227", dir: conntrack.Reply, cmd: "227 Entering Passive Mode (203,0,113,5,195,81).\r\n",
			expect: []string{"proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 " + master4}},
		{name: "227 without parentheses", dir: conntrack.Reply, cmd: "227 Entering Passive Mode 203,0,113,5,195,81\r\n",
			expect: []string{"proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 " + master4}},
		{name: "227 without numbers", dir: conntrack.Reply, cmd: "227 Entering Passive Mode.\r\n", drop: "partial matching of `227 '"},
		{name: "229", dir: conntrack.Reply, cmd: "229 Entering Extended Passive Mode (|||50002|)\r\n",
			expect: []string{"proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=50002 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 " + master4}},
		{name: "229 without the parenthesis", dir: conntrack.Reply, cmd: "229 Entering Extended Passive Mode |||50002|\r\n", drop: "partial matching of `229 '"},
		{name: "a PORT in the server's direction is no command", dir: conntrack.Reply, cmd: "PORT 203,0,113,5,195,80\r\n"},
	} {
		c := newConn(t, ftp, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 21)
		// A line in each direction, so that the next packet starts
		// after a newline the helper saw.
		c.send(conntrack.Reply, "220 hello\r\n")
		c.send(conntrack.Original, "USER x\r\n")
		v, _ := c.send(tc.dir, tc.cmd)
		if v.Reason != tc.drop || v.Drop != (tc.drop != "") {
			t.Errorf("%s: verdict %+v, want drop %q", tc.name, v, tc.drop)
		}
		if got := c.expected(); strings.Join(got, "\n") != strings.Join(tc.expect, "\n") {
			t.Errorf("%s: expectations\n got %q\nwant %q", tc.name, got, tc.expect)
		}
	}
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// The helper reads only at line starts: the first line of each
// direction is never read (no newline seen yet), and a packet that
// follows one not ending in a newline is no command either.
func TestFTPReadsOnlyAtLineStarts(t *testing.T) {
	ftp := New(Config{}).Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, ftp, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 21)
	c.send(conntrack.Original, "PORT 10,0,0,5,195,80\r\n") // the first line
	if n := len(c.expected()); n != 0 {
		t.Errorf("the first line was read: %d expectations", n)
	}
	c.send(conntrack.Original, "NOOP") // no newline at its end
	c.send(conntrack.Original, "PORT 10,0,0,5,195,81\r\n")
	if n := len(c.expected()); n != 0 {
		t.Errorf("a packet after a line's middle was read: %d expectations", n)
	}
	c.send(conntrack.Original, "PORT 10,0,0,5,195,82\r\n")
	if got := c.expected(); len(got) != 1 || !strings.Contains(got[0], "dport=50002") {
		t.Errorf("after a newline: %q, want the expectation of port 50002", got)
	}
}

func TestFTPLooseExpectsAnyAddress(t *testing.T) {
	ftp := New(Config{FTPLoose: true}).Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, ftp, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 21)
	c.send(conntrack.Original, "USER x\r\n")
	c.send(conntrack.Original, "PORT 10,0,0,6,195,80\r\n")
	if got := c.expected(); len(got) != 1 || !strings.Contains(got[0], "dst=10.0.0.6 ") {
		t.Errorf("loose=1: %q, want an expectation to 10.0.0.6", got)
	}
}

func TestFTPIPv6(t *testing.T) {
	ftp := New(Config{}).Lookup("ftp", packet.IPv6, packet.ProtoTCP)
	for _, tc := range []struct {
		cmd    string
		expect bool
		drop   bool
	}{
		{"EPRT |2|2001:db8::5|50001|\r\n", true, false},
		{"EPRT |2|2001:0db8:0000::0005|50001|\r\n", true, false},
		{"EPRT |2|2001:db8::6|50001|\r\n", false, false}, // another host
		{"EPRT |1|10.0.0.5|50001|\r\n", false, true},     // IPv4 on IPv6
		{"EPRT |2|2001:db8::5::1|50001|\r\n", false, true},
		// PORT's numbers replace only the first four bytes of the
		// address: they name the sender only when they are its first
		// four bytes, as the kernel's struct nf_conntrack_man has it.
		{"PORT 10,0,0,5,195,80\r\n", false, false},
		{"PORT 32,1,13,184,195,80\r\n", true, false},
	} {
		c := newConn(t, ftp, "tcp", a("2001:db8::5"), a("2001:db8::5"), a("2001:db8:1::5"), 21)
		c.send(conntrack.Original, "USER x\r\n")
		v, _ := c.send(conntrack.Original, tc.cmd)
		if got := len(c.expected()); (got == 1) != tc.expect || v.Drop != tc.drop {
			t.Errorf("%q: %d expectations, drop %v; want %v, %v", tc.cmd, got, v.Drop, tc.expect, tc.drop)
		}
	}
}

func TestFTPNATRewrites(t *testing.T) {
	for _, tc := range []struct {
		fam            packet.Family
		client, public string
		cmd, want      string
	}{
		{packet.IPv4, "10.0.0.5", "198.51.100.7", "PORT 10,0,0,5,195,80\r\n", "PORT 198,51,100,7,195,80\r\n"},
		{packet.IPv4, "10.0.0.5", "198.51.100.7", "EPRT |1|10.0.0.5|50000|\r\n", "EPRT |1|198.51.100.7|50000|\r\n"},
		{packet.IPv6, "2001:db8:7::5", "2001:db8:ffff::1", "EPRT |2|2001:db8:7::5|50000|\r\n", "EPRT |2|2001:0db8:ffff:0000:0000:0000:0000:0001|50000|\r\n"},
	} {
		ftp := New(Config{}).Lookup("ftp", tc.fam, packet.ProtoTCP)
		server := a("203.0.113.5")
		if tc.fam == packet.IPv6 {
			server = a("2001:db8:5::5")
		}
		c := newConn(t, ftp, "tcp", a(tc.client), a(tc.public), server, 21)
		c.send(conntrack.Original, "USER x\r\n")
		v, p := c.send(conntrack.Original, tc.cmd)
		if v.Drop || string(p.Payload()) != tc.want {
			t.Errorf("%q: %+v, the server gets %q, want %q", tc.cmd, v, p.Payload(), tc.want)
		}
		if !p.L4ChecksumOK() {
			t.Errorf("%q: bad checksum after the rewrite", tc.cmd)
		}
		exps := c.tb.Expectations(t0)
		if len(exps) != 1 || exps[0].Fn != conntrack.ExpectFollowMaster || exps[0].SavedPort != 50000 || exps[0].Tuple.DstAddr() != a(tc.public) {
			t.Errorf("%q: expectations %v, want one at the public address following the master to port 50000", tc.cmd, exps)
		}
	}
}

// When the port a command names is expected already (by another
// master), the NAT helper picks another one above it, as
// nf_nat_exp_find_port does.
func TestFTPNATPicksAnotherPortWhenTaken(t *testing.T) {
	set := New(Config{Rand: func() uint32 { return 1 << 31 }}) // the middle of the range
	ftp := set.Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, ftp, "tcp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), 21)
	other := conntrack.Expectation{Tuple: conntrack.Tuple{Family: packet.IPv4, Proto: packet.ProtoTCP, DstPort: 50000}, Mask: conntrack.ExpectAnySrcAddr | conntrack.ExpectAnySrcPort}
	copy(other.Tuple.Dst[:], a("198.51.100.7").AsSlice())
	var r conntrack.Result
	c.tb.In(&r, c.pkt(conntrack.Original, "A", ""), 0, t0, false)
	// A second master, to own the clashing expectation.
	c2 := newConn(t, ftp, "tcp", a("10.0.0.6"), a("198.51.100.7"), a("203.0.113.5"), 21)
	c2.tb = c.tb
	if err := c.tb.Expect(&r, other, t0); err != nil {
		t.Fatal(err)
	}
	c.send(conntrack.Original, "USER x\r\n")
	_, p := c.send(conntrack.Original, "PORT 10,0,0,5,195,80\r\n")
	// 50000 + (65535-50000)/2 = 57767 = 225*256+167.
	if want := "PORT 198,51,100,7,225,167\r\n"; string(p.Payload()) != want {
		t.Errorf("got %q, want %q", p.Payload(), want)
	}
}

func TestTFTPExpectsTheServersAnswer(t *testing.T) {
	tftp := New(Config{}).Lookup("tftp", packet.IPv4, packet.ProtoUDP)
	for _, tc := range []struct {
		name, payload string
		expect        bool
	}{
		{"read request", "\x00\x01file\x00octet\x00", true},
		{"write request", "\x00\x02file\x00octet\x00", true},
		{"data", "\x00\x03\x00\x01", false},
		{"ack", "\x00\x04\x00\x01", false},
		{"error", "\x00\x05\x00\x01x\x00", false},
		{"too short", "\x00", false},
	} {
		c := newConn(t, tftp, "udp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 69)
		c.send(conntrack.Original, tc.payload)
		got := c.expected()
		if (len(got) == 1) != tc.expect {
			t.Errorf("%s: %q", tc.name, got)
		} else if tc.expect && !strings.HasPrefix(got[0], "proto=17 src=203.0.113.5 dst=10.0.0.5 sport=0 dport=40000 ") {
			t.Errorf("%s: %q, want from the server to the client's port", tc.name, got[0])
		}
	}
}

func TestIRCDCCOffers(t *testing.T) {
	irc := New(Config{}).Lookup("irc", packet.IPv4, packet.ProtoTCP)
	const me = "167772165" // 10.0.0.5
	for _, tc := range []struct {
		name, msg string
		port      int // expected, 0 for none
	}{
		{"SEND", "PRIVMSG bob :\x01DCC SEND file " + me + " 5000 1024\x01\r\n", 5000},
		{"CHAT", "PRIVMSG bob :\x01DCC CHAT chat " + me + " 5001\x01\r\n", 5001},
		{"MOVE", "PRIVMSG bob :\x01DCC MOVE f " + me + " 5002 1\x01\r\n", 5002},
		{"TSEND", "PRIVMSG bob :\x01DCC TSEND f " + me + " 5003 1\x01\r\n", 5003},
		{"SCHAT", "PRIVMSG bob :\x01DCC SCHAT chat " + me + " 5004\x01\r\n", 5004},
		{"lower-case privmsg", "privmsg bob :\x01DCC SEND file " + me + " 5005 1\x01\r\n", 5005},
		{"leading blank lines", "\r\n\r\nPRIVMSG bob :\x01DCC SEND file " + me + " 5006 1\x01\r\n", 5006},
		{"another host: forged", "PRIVMSG bob :\x01DCC SEND file 167772166 5000 1\x01\r\n", 0},
		{"port 0: forged", "PRIVMSG bob :\x01DCC SEND file " + me + " 0 1\x01\r\n", 0},
		{"no newline", "PRIVMSG bob :\x01DCC SEND file " + me + " 5000 1\x01", 0},
		{"not PRIVMSG", "NOTICE bob :\x01DCC SEND file " + me + " 5000 1\x01\r\n", 0},
		{"not DCC", "PRIVMSG bob :\x01PING 123\x01\r\n", 0},
		{"lower-case dcc is no DCC", "PRIVMSG bob :\x01dcc SEND file " + me + " 5000 1\x01\r\n", 0},
		{"RESUME opens nothing", "PRIVMSG bob :\x01DCC RESUME file 5000 100\x01\r\n", 0},
	} {
		c := newConn(t, irc, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 6667)
		c.send(conntrack.Original, tc.msg)
		got := c.expected()
		switch {
		case tc.port == 0 && len(got) != 0:
			t.Errorf("%s: %q, want none", tc.name, got)
		case tc.port != 0 && (len(got) != 1 || !strings.HasPrefix(got[0], "proto=6 src=0.0.0.0 dst=10.0.0.5 sport=0 dport="+itoa(tc.port)+" mask-src=0.0.0.0 ")):
			t.Errorf("%s: %q, want one from anywhere to port %d", tc.name, got, tc.port)
		}
	}
	// The server's messages are not read.
	c := newConn(t, irc, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 6667)
	c.send(conntrack.Reply, ":bob PRIVMSG alice :\x01DCC SEND file 3405803781 5000 1\x01\r\n")
	if got := c.expected(); len(got) != 0 {
		t.Errorf("an offer from the server: %q", got)
	}
}

// Beyond the kernel: through NAT that gave an offer another port, the
// peer's DCC RESUME reaches the client with the client's own port, and
// the client's DCC ACCEPT the peer with the one it was given.
func TestIRCDCCResumeThroughNAT(t *testing.T) {
	irc := New(Config{Rand: func() uint32 { return 1 << 31 }}).Lookup("irc", packet.IPv4, packet.ProtoTCP)
	tb := conntrack.NewTable(conntrack.Config{})
	// Two clients behind 198.51.100.7 offer port 5000: the second
	// offer's port must change.
	first := newConnIn(t, tb, irc, "tcp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), 40000, 6667)
	first.send(conntrack.Original, "PRIVMSG bob :\x01DCC SEND a 167772165 5000 1024\x01\r\n")
	c := newConnIn(t, tb, irc, "tcp", a("10.0.0.6"), a("198.51.100.7"), a("203.0.113.5"), 40001, 6667)
	_, p := c.send(conntrack.Original, "PRIVMSG bob :\x01DCC SEND b 167772166 5000 1024\x01\r\n")
	var peerPort int
	if _, err := fmt.Sscanf(string(p.Payload()), "PRIVMSG bob :\x01DCC SEND b 3325256711 %d 1024", &peerPort); err != nil || peerPort == 5000 {
		t.Fatalf("the second offer: %q (%v), want another port than 5000", p.Payload(), err)
	}
	tests := []struct {
		name string
		dir  conntrack.Dir
		msg  string
		want string
	}{
		{"RESUME to the client names its own port", conntrack.Reply,
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b " + itoa(peerPort) + " 512\x01\r\n",
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b 5000 512\x01\r\n"},
		{"ACCEPT to the peer names its port", conntrack.Original,
			"PRIVMSG bob :\x01DCC ACCEPT b 5000 512\x01\r\n",
			"PRIVMSG bob :\x01DCC ACCEPT b " + itoa(peerPort) + " 512\x01\r\n"},
		{"a quoted file name", conntrack.Reply,
			":bob!b@h PRIVMSG alice :\x01DCC RESUME \"my file\" " + itoa(peerPort) + " 512\x01\r\n",
			":bob!b@h PRIVMSG alice :\x01DCC RESUME \"my file\" 5000 512\x01\r\n"},
		{"another offer's port is left alone", conntrack.Reply,
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b 5001 512\x01\r\n",
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b 5001 512\x01\r\n"},
		{"no position: left alone", conntrack.Reply,
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b " + itoa(peerPort) + "\x01\r\n",
			":bob!b@h PRIVMSG alice :\x01DCC RESUME b " + itoa(peerPort) + "\x01\r\n"},
	}
	for _, tt := range tests {
		v, p := c.send(tt.dir, tt.msg)
		if v.Drop || string(p.Payload()) != tt.want {
			t.Errorf("%s: %+v %q, want %q", tt.name, v, p.Payload(), tt.want)
		}
		if !p.L4ChecksumOK() {
			t.Errorf("%s: checksum wrong", tt.name)
		}
	}
	// Where NAT kept the port, nothing changes (the first client's).
	msg := ":bob!b@h PRIVMSG alice :\x01DCC RESUME a 5000 512\x01\r\n"
	if _, p := first.send(conntrack.Reply, msg); string(p.Payload()) != msg {
		t.Errorf("a RESUME of an offer NAT kept: %q", p.Payload())
	}
}

func TestIRCLimitsWaitingOffers(t *testing.T) {
	irc := New(Config{IRCMaxDCCChannels: 2}).Lookup("irc", packet.IPv4, packet.ProtoTCP)
	c := newConn(t, irc, "tcp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 6667)
	for port := 5000; port < 5003; port++ {
		c.send(conntrack.Original, "PRIVMSG bob :\x01DCC SEND f 167772165 "+itoa(port)+" 1\x01\r\n")
	}
	got := c.expected()
	if len(got) != 2 || !strings.Contains(got[0], "dport=5001") || !strings.Contains(got[1], "dport=5002") {
		t.Errorf("max_dcc_channels=2: %q, want the last two offers", got)
	}
}

func TestIn6ptonAgreesWithTheStandardForms(t *testing.T) {
	for _, s := range []string{"::", "::1", "2001:db8::5", "2001:db8:0:0:1:0:0:1", "fe80::1:2:3:4", "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8", "1::", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4"} {
		want := netip.MustParseAddr(s).As16()
		got, ok, n := in6pton([]byte(s+"|"), len(s)+1, '|')
		if !ok || got != want || n != len(s) {
			t.Errorf("in6pton(%q) = %v %v %d, want %v true %d", s, netip.AddrFrom16(got), ok, n, netip.AddrFrom16(want), len(s))
		}
	}
	for _, s := range []string{"1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::", ":1", "1.2.3.4", "::1.2.3.256", "1:2:3:4:5:6:7:1.2.3.4"} {
		if _, ok, _ := in6pton([]byte(s+"|"), len(s)+1, '|'); ok {
			t.Errorf("in6pton(%q) accepted it", s)
		}
	}
}

func TestCheckRefusesWhatTheKernelRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fam   packet.Family
		proto uint8
		ok    bool
	}{
		{"ftp", packet.IPv4, packet.ProtoTCP, true},
		{"ftp", packet.IPv6, packet.ProtoTCP, true},
		{"ftp", packet.IPv4, packet.ProtoUDP, false},
		{"irc", packet.IPv6, packet.ProtoTCP, false},
		{"tftp", packet.IPv6, packet.ProtoUDP, true},
		{"nosuch", packet.IPv4, packet.ProtoTCP, false},
		{"RAS", packet.IPv4, packet.ProtoUDP, false}, // the kernel has it, nfgo does not
	} {
		if err := Check(tc.name, tc.fam, tc.proto); (err == nil) != tc.ok {
			t.Errorf("Check(%s, %v, %d) = %v, want ok %v", tc.name, tc.fam, tc.proto, err, tc.ok)
		}
	}
}

func TestParseParam(t *testing.T) {
	var c Config
	for _, s := range []string{"ftp.loose=1", "nf_conntrack_irc.max_dcc_channels=4", "irc.dcc_timeout=60", "sip.sip_direct_media=0"} {
		if err := ParseParam(&c, s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if !c.FTPLoose || c.IRCMaxDCCChannels != 4 || c.IRCDCCTimeout != time.Minute || !c.SIPIndirectMedia {
		t.Errorf("config %+v", c)
	}
	for _, s := range []string{"ftp.loose", "loose=1", "ftp.nosuch=1", "irc.max_dcc_channels=0", "ftp.loose=2"} {
		if err := ParseParam(&c, s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}
