package nfgo_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// helperRules is a stateful router: the control connections named by
// helped ("tcp 21 ftp": protocol, port, helper or "-" for none) may
// start, anything else only if it is ESTABLISHED or RELATED by a
// helper; nat is the nat table's rules.
func helperRules(nat string, helped ...string) string {
	var raw, filt strings.Builder
	for _, h := range helped {
		// e.g. "tcp 21 ftp"
		f := strings.Fields(h)
		if f[2] != "-" {
			raw.WriteString("-A PREROUTING -p " + f[0] + " --dport " + f[1] + " -j CT --helper " + f[2] + "\n")
		}
		filt.WriteString("-A FORWARD -p " + f[0] + " --dport " + f[1] + " -m conntrack --ctstate NEW -j ACCEPT\n")
	}
	return "*raw\n" + raw.String() + "COMMIT\n*nat\n" + nat + "COMMIT\n*filter\n:FORWARD DROP [0:0]\n" +
		"-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
		"-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT\n" +
		"-A FORWARD -m conntrack --ctstate RELATED -m helper --helper tftp -j ACCEPT\n" +
		"-A FORWARD -m conntrack --ctstate RELATED -m helper --helper irc -j ACCEPT\n" +
		"-A FORWARD -m conntrack --ctstate RELATED -m helper --helper pptp -j ACCEPT\n" +
		filt.String() + "COMMIT\n"
}

// router returns a testpkt.Router through the engine's whole path, with
// its verdicts collected in vs: the LAN 192.0.2.0/24 is behind eth0, the
// rest of the world behind eth1.
func router(t *testing.T, e *nfgo.Engine, now time.Time, vs *[]nfgo.Verdict) testpkt.Router {
	lan := netip.MustParsePrefix("192.0.2.0/24")
	return func(b []byte) []byte {
		var p packet.Packet
		p.Decode(append(make([]byte, 0, len(b)+128), b...))
		in := "eth1"
		if lan.Contains(p.Src()) {
			in = "eth0"
		}
		v := e.Path(&p, nfgo.Meta{In: in, Time: now})
		*vs = append(*vs, v)
		if v.Action != filter.Accept {
			return nil
		}
		if !p.L4ChecksumOK() || !p.IPv4HeaderChecksumOK() {
			t.Errorf("%v → %v: checksums wrong as the packet leaves", p.Src(), p.Dst())
		}
		return append([]byte(nil), p.Bytes()...)
	}
}

func helperEngine(t *testing.T, rules string, cfg nfgo.Config) *nfgo.Engine {
	t.Helper()
	cfg.Host = natRouter
	e := nfgo.New(cfg)
	rs, err := parseRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	return e
}

func parseRules(rules string) (*filter.Ruleset, error) {
	return iptables.Parse(strings.NewReader(rules), packet.IPv4)
}

var t0 = time.Unix(1_700_000_000, 0)

// ftpSession logs in over a control connection from client to the
// server at dial (the server's address as the client knows it).
func ftpSession(t *testing.T, via testpkt.Router, client, server, dial netip.Addr) *testpkt.Flow {
	t.Helper()
	f := &testpkt.Flow{Proto: "tcp", Via: via,
		Init: testpkt.End{Addr: client, Port: 40000, PeerAddr: dial, PeerPort: 21, Seq: 1000},
		Resp: testpkt.End{Addr: server, Port: 21, Seq: 5000}}
	if !f.Handshake() {
		t.Fatal("the control connection's handshake did not pass")
	}
	for _, l := range []struct {
		fromClient bool
		line       string
	}{{false, "220 nfgo test\r\n"}, {true, "USER anonymous\r\n"}, {false, "331 Please specify the password.\r\n"}, {true, "PASS x\r\n"}, {false, "230 Login successful.\r\n"}} {
		if f.Send(l.fromClient, "PA", l.line).Out == nil {
			t.Fatalf("%q did not pass", l.line)
		}
	}
	return f
}

func TestFTPActiveModeDataConnectionIsRelated(t *testing.T) {
	for _, tc := range []struct {
		name       string
		helped     bool
		nat        string
		wantPort   string // the PORT command as the server gets it
		wantDelivr bool
	}{
		{"helper, no NAT", true, "", "PORT 192,0,2,10,195,80\r\n", true},
		{"helper, masquerade", true, "-A POSTROUTING -o eth1 -j MASQUERADE\n", "PORT 198,51,100,1,195,80\r\n", true},
		{"no helper", false, "", "PORT 192,0,2,10,195,80\r\n", false},
	} {
		helped := "tcp 21 ftp"
		if !tc.helped {
			helped = "tcp 21 -"
		}
		e := helperEngine(t, helperRules(tc.nat, helped), nfgo.Config{})
		var vs []nfgo.Verdict
		ctl := ftpSession(t, router(t, e, t0, &vs), a("192.0.2.10"), a("203.0.113.5"), a("203.0.113.5"))
		got := ctl.Send(true, "PA", "PORT 192,0,2,10,195,80\r\n")
		if got.Payload() != tc.wantPort {
			t.Errorf("%s: the server got %q, want %q", tc.name, got.Payload(), tc.wantPort)
		}
		if ctl.Send(false, "PA", "200 PORT command successful.\r\n").Out == nil {
			t.Fatalf("%s: the reply to PORT did not pass", tc.name)
		}
		// The server connects from port 20 to where PORT told it.
		data := &testpkt.Flow{Proto: "tcp", Via: router(t, e, t0, &vs),
			Init: testpkt.End{Addr: a("203.0.113.5"), Port: 20, PeerAddr: ctl.Resp.PeerAddr, PeerPort: 50000, Seq: 7000},
			Resp: testpkt.End{Addr: a("192.0.2.10"), Port: 50000, Seq: 9000}}
		syn := data.Send(true, "S", "")
		last := vs[len(vs)-1]
		if (syn.Out != nil) != tc.wantDelivr {
			t.Fatalf("%s: data SYN delivered %v (%v, %v), want %v", tc.name, syn.Out != nil, last, last.CT, tc.wantDelivr)
		}
		if !tc.wantDelivr {
			if last.CT != conntrack.New {
				t.Errorf("%s: unhelped data SYN is %v, want NEW", tc.name, last.CT)
			}
			continue
		}
		if last.CT != conntrack.Related {
			t.Errorf("%s: data SYN is %v, want RELATED", tc.name, last.CT)
		}
		if !data.Handshake() || data.Send(true, "PA", "file contents").Payload() != "file contents" {
			t.Errorf("%s: the data connection does not carry data", tc.name)
		}
		// The control connection goes on: after a rewrite that changed
		// the command's length, both ends' numbers are shifted.
		for _, l := range []string{"QUIT\r\n"} {
			if ctl.Send(true, "PA", l).Payload() != l {
				t.Errorf("%s: %q after the PORT did not arrive intact", tc.name, l)
			}
			if ctl.Send(false, "PA", "221 Goodbye.\r\n").Out == nil {
				t.Errorf("%s: the server's reply after the PORT was dropped", tc.name)
			}
		}
		if v := vs[len(vs)-1]; v.CT != conntrack.Established {
			t.Errorf("%s: the control connection is %v after the rewrite, want ESTABLISHED (%s)", tc.name, v.CT, v.CTReason)
		}
	}
}

func TestFTPPassiveModeThroughAPortForward(t *testing.T) {
	rules := helperRules("-A PREROUTING -i eth1 -p tcp --dport 21 -j DNAT --to-destination 192.0.2.20\n", "tcp 21 ftp")
	// The forwarded control connection is NEW at FORWARD with its
	// destination already translated.
	rules = strings.Replace(rules, "-A FORWARD -p tcp --dport 21", "-A FORWARD -d 192.0.2.20 -p tcp --dport 21", 1)
	e := helperEngine(t, rules, nfgo.Config{})
	var vs []nfgo.Verdict
	via := router(t, e, t0, &vs)
	ctl := ftpSession(t, via, a("203.0.113.5"), a("192.0.2.20"), a("198.51.100.1"))
	ctl.Send(true, "PA", "PASV\r\n")
	got := ctl.Send(false, "PA", "227 Entering Passive Mode (192,0,2,20,195,81).\r\n")
	if want := "227 Entering Passive Mode (198,51,100,1,195,81).\r\n"; got.Payload() != want {
		t.Fatalf("the client got %q, want %q", got.Payload(), want)
	}
	data := &testpkt.Flow{Proto: "tcp", Via: via,
		Init: testpkt.End{Addr: a("203.0.113.5"), Port: 41000, PeerAddr: a("198.51.100.1"), PeerPort: 50001, Seq: 1},
		Resp: testpkt.End{Addr: a("192.0.2.20"), Port: 50001, Seq: 2}}
	syn := data.Send(true, "S", "")
	if v := vs[len(vs)-1]; syn.Out == nil || v.CT != conntrack.Related {
		t.Fatalf("the passive data SYN: %v %v, want it delivered RELATED", v, v.CT)
	}
	if _, dst, _, dport := addrs(syn.Out); dst != a("192.0.2.20") || dport != 50001 {
		t.Errorf("the data SYN reaches %v:%d, want the server's 192.0.2.20:50001", dst, dport)
	}
}

func TestFTPHardening(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmd     string
		deliver bool   // the command packet is let through
		reason  string // when dropped
		expect  bool
	}{
		{"a PORT cut short is dropped", "PORT 192,0,2,10,19", false, "ftp: partial matching of `PORT'", false},
		{"a PORT without its CR is dropped", "PORT 192,0,2,10,195,80\n", false, "ftp: partial matching of `PORT'", false},
		{"a PORT naming another host opens nothing", "PORT 192,0,2,99,195,80\r\n", true, "", false},
		{"lower case is a command too", "port 192,0,2,10,195,80\r\n", true, "", true},
		{"not at a line start, it is no command", "NOOP\r\nPORT 192,0,2,10,195,80\r\n", true, "", false},
	} {
		e := helperEngine(t, helperRules("", "tcp 21 ftp"), nfgo.Config{})
		var vs []nfgo.Verdict
		ctl := ftpSession(t, router(t, e, t0, &vs), a("192.0.2.10"), a("203.0.113.5"), a("203.0.113.5"))
		got := ctl.Send(true, "PA", tc.cmd)
		v := vs[len(vs)-1]
		if (got.Out != nil) != tc.deliver || !tc.deliver && (v.Reason != nfgo.ReasonHelper || v.CTReason != tc.reason) {
			t.Errorf("%s: delivered %v, verdict %v (%q); want delivered %v, reason %q", tc.name, got.Out != nil, v, v.CTReason, tc.deliver, tc.reason)
		}
		if n := len(e.Conntrack().Expectations(t0)); (n == 1) != tc.expect {
			t.Errorf("%s: %d expectations, want %v", tc.name, n, tc.expect)
		}
	}
}

// A helper no rule assigned does nothing: the kernel no longer attaches
// helpers by port.
func TestFTPHelperOnlyByRule(t *testing.T) {
	// The helper is attached to another port's connections only.
	e := helperEngine(t, helperRules("", "tcp 2121 ftp", "tcp 21 -"), nfgo.Config{})
	var vs []nfgo.Verdict
	ctl := ftpSession(t, router(t, e, t0, &vs), a("192.0.2.10"), a("203.0.113.5"), a("203.0.113.5"))
	ctl.Send(true, "PA", "PORT 192,0,2,10,195,80\r\n")
	if n := len(e.Conntrack().Expectations(t0)); n != 0 {
		t.Errorf("%d expectations without a CT --helper rule, want 0", n)
	}
}

func TestTFTPReadThroughMasquerade(t *testing.T) {
	e := helperEngine(t, helperRules("-A POSTROUTING -o eth1 -j MASQUERADE\n", "udp 69 tftp"), nfgo.Config{})
	var vs []nfgo.Verdict
	via := router(t, e, t0, &vs)
	rrq := &testpkt.Flow{Proto: "udp", Via: via,
		Init: testpkt.End{Addr: a("192.0.2.10"), Port: 3000, PeerAddr: a("203.0.113.5"), PeerPort: 69},
		Resp: testpkt.End{Addr: a("203.0.113.5"), Port: 69}}
	if rrq.Send(true, "", "\x00\x01file\x00octet\x00").Out == nil {
		t.Fatal("the read request did not pass")
	}
	// The server answers from a new port, to the masqueraded client.
	data := &testpkt.Flow{Proto: "udp", Via: via,
		Init: testpkt.End{Addr: a("203.0.113.5"), Port: 4444, PeerAddr: rrq.Resp.PeerAddr, PeerPort: rrq.Resp.PeerPort},
		Resp: testpkt.End{Addr: a("192.0.2.10"), Port: 3000}}
	got := data.Send(true, "", "\x00\x03\x00\x01data")
	if v := vs[len(vs)-1]; got.Out == nil || v.CT != conntrack.Related {
		t.Fatalf("the server's DATA: %v %v, want it delivered RELATED", v, v.CT)
	}
	if _, dst, _, dport := addrs(got.Out); dst != a("192.0.2.10") || dport != 3000 {
		t.Errorf("DATA reaches %v:%d, want the client's 192.0.2.10:3000", dst, dport)
	}
	if data.Send(false, "", "\x00\x04\x00\x01").Out == nil {
		t.Error("the client's ACK did not pass")
	}
}

func TestIRCDCCSendThroughMasquerade(t *testing.T) {
	e := helperEngine(t, helperRules("-A POSTROUTING -o eth1 -j MASQUERADE\n", "tcp 6667 irc"), nfgo.Config{})
	var vs []nfgo.Verdict
	via := router(t, e, t0, &vs)
	irc := &testpkt.Flow{Proto: "tcp", Via: via,
		Init: testpkt.End{Addr: a("192.0.2.10"), Port: 40000, PeerAddr: a("203.0.113.5"), PeerPort: 6667, Seq: 100},
		Resp: testpkt.End{Addr: a("203.0.113.5"), Port: 6667, Seq: 200}}
	if !irc.Handshake() {
		t.Fatal("handshake")
	}
	// 192.0.2.10 is 3221225994; 198.51.100.1 is 3325256705.
	got := irc.Send(true, "PA", "PRIVMSG bob :\x01DCC SEND file.txt 3221225994 5000 1024\x01\r\n")
	if want := "PRIVMSG bob :\x01DCC SEND file.txt 3325256705 5000 1024\x01\r\n"; got.Payload() != want {
		t.Fatalf("the server got %q, want %q", got.Payload(), want)
	}
	dcc := &testpkt.Flow{Proto: "tcp", Via: via,
		Init: testpkt.End{Addr: a("203.0.113.77"), Port: 41000, PeerAddr: a("198.51.100.1"), PeerPort: 5000, Seq: 1},
		Resp: testpkt.End{Addr: a("192.0.2.10"), Port: 5000, Seq: 2}}
	syn := dcc.Send(true, "S", "")
	if v := vs[len(vs)-1]; syn.Out == nil || v.CT != conntrack.Related {
		t.Fatalf("the DCC connection: %v %v, want it delivered RELATED", v, v.CT)
	}
	// A forged offer, naming another host, opens nothing.
	irc.Send(false, "A", "")
	irc.Send(true, "PA", "PRIVMSG bob :\x01DCC SEND x 3221225995 5001 1\x01\r\n")
	for _, x := range e.Conntrack().Expectations(t0) {
		t.Errorf("an expectation after a forged offer: %v", x)
	}
}

// Two PPTP clients behind one masquerading router call one server, both
// with call ID 0x1111: each call's client ID is changed to its control
// connection's port, so the server tells the calls apart, and each
// client's GRE comes back to it with its own call ID.
func TestPPTPCallsThroughMasquerade(t *testing.T) {
	e := helperEngine(t, helperRules("-A POSTROUTING -o eth1 -j MASQUERADE\n", "tcp 1723 pptp"), nfgo.Config{})
	var vs []nfgo.Verdict
	via := router(t, e, t0, &vs)
	server, public := a("203.0.113.5"), a("198.51.100.1")
	gre := func(src, dst netip.Addr, call uint16) []byte {
		return via(testpkt.Build(testpkt.Spec{Proto: "pptp", Src: src, Dst: dst, DstPort: call, Seq: 1, Payload: []byte("ppp frame")}))
	}
	type client struct {
		addr      netip.Addr
		ctl       *testpkt.Flow
		pacCallID uint16
		natted    uint16 // the call ID the server sees
	}
	ctl := func(typ uint16, words ...uint16) string { return string(testpkt.PPTPControl(typ, words...)) }
	clients := []*client{{addr: a("192.0.2.10"), pacCallID: 0x2222}, {addr: a("192.0.2.11"), pacCallID: 0x3333}}
	for i, c := range clients {
		c.ctl = &testpkt.Flow{Proto: "tcp", Via: via,
			Init: testpkt.End{Addr: c.addr, Port: 40000 + uint16(i), PeerAddr: server, PeerPort: 1723, Seq: 1000},
			Resp: testpkt.End{Addr: server, Port: 1723, Seq: 5000}}
		if !c.ctl.Handshake() {
			t.Fatal("handshake")
		}
		c.ctl.Send(true, "PA", ctl(1, 0x0100))
		c.ctl.Send(false, "PA", ctl(2, 0x0100, 0x0100))
		req := c.ctl.Send(true, "PA", ctl(7, 0x1111, 1))
		c.natted = testpkt.PPTPCallID([]byte(req.Payload()), 0)
		if want := c.ctl.Resp.PeerPort; c.natted != want {
			t.Fatalf("client %d: the server sees call ID %#x, want the NATed port %#x", i, c.natted, want)
		}
		rep := c.ctl.Send(false, "PA", ctl(8, c.pacCallID, c.natted, 0x0100))
		if got := testpkt.PPTPCallID([]byte(rep.Payload()), 2); got != 0x1111 {
			t.Fatalf("client %d gets peer call ID %#x, want its own 0x1111", i, got)
		}
	}
	for i, c := range clients {
		out := gre(c.addr, server, c.pacCallID)
		if v := vs[len(vs)-1]; out == nil || v.CT != conntrack.Related {
			t.Fatalf("client %d's GRE: %v %v, want it forwarded RELATED", i, v, v.CT)
		}
		if src, dst, _, _ := addrs(out); src != public || dst != server {
			t.Errorf("client %d's GRE leaves %v → %v, want %v → %v", i, src, dst, public, server)
		}
	}
	for i, c := range clients {
		back := gre(server, public, c.natted)
		if v := vs[len(vs)-1]; back == nil || v.CT != conntrack.Established {
			t.Fatalf("the server's GRE to client %d: %v %v, want it forwarded ESTABLISHED", i, v, v.CT)
		}
		var p packet.Packet
		p.Decode(back)
		if p.Dst() != c.addr || uint16(p.GREKey) != 0x1111 {
			t.Errorf("the server's GRE to client %d reaches %v call %#x, want %v call 0x1111", i, p.Dst(), uint16(p.GREKey), c.addr)
		}
	}
	// The server ends the first call: its GRE connection goes, and the
	// server's next GRE to it is NEW, for the router itself.
	clients[0].ctl.Send(false, "PA", ctl(13, clients[0].pacCallID))
	out := gre(server, public, clients[0].natted)
	if v := vs[len(vs)-1]; v.CT != conntrack.New {
		t.Errorf("GRE of a disconnected call is %v, want NEW", v.CT)
	}
	if out != nil {
		if _, dst, _, _ := addrs(out); dst != public {
			t.Errorf("GRE of a disconnected call was forwarded to %v", dst)
		}
	}
	if gre(server, public, clients[1].natted) == nil {
		t.Error("the other call's GRE stopped too")
	}
}

func addrs(b []byte) (src, dst netip.Addr, sport, dport uint16) {
	var p packet.Packet
	p.Decode(b)
	return p.Src(), p.Dst(), p.SrcPort, p.DstPort
}
