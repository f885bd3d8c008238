package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// helperRun drives flows through a kernel router and keeps every packet
// sent with what the kernel made of it.
type helperRun struct {
	t     *testing.T
	r     *kernel.Router
	sent  [][]byte
	fates []kernel.Fate
	names []string // what each packet is, for messages
	label string
	// fromHost marks the packets the router sent itself (by their index
	// in sent): they are replayed as the kernel emitted them, and start
	// at OUTPUT in nfgo as in the kernel.
	fromHost map[int]bool
}

func (h *helperRun) via(b []byte) []byte {
	f, err := h.r.Send(b)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sent = append(h.sent, b)
	h.fates = append(h.fates, f)
	h.names = append(h.names, h.label)
	if len(f.Emitted) == 1 {
		return f.Emitted[0]
	}
	return nil
}

// tcp and udp start a flow from init (addr:port) to dial.
func (h *helperRun) tcp(init string, iport uint16, dial string, dport uint16, resp string) *testpkt.Flow {
	return &testpkt.Flow{Proto: "tcp", Via: h.via,
		Init: testpkt.End{Addr: netip.MustParseAddr(init), Port: iport, PeerAddr: netip.MustParseAddr(dial), PeerPort: dport, Seq: 1000 + uint32(iport)},
		Resp: testpkt.End{Addr: netip.MustParseAddr(resp), Port: dport, Seq: 90000 + uint32(iport)}}
}

func (h *helperRun) udp(init string, iport uint16, dial string, dport uint16, resp string) *testpkt.Flow {
	f := h.tcp(init, iport, dial, dport, resp)
	f.Proto = "udp"
	return f
}

// from makes a flow to the address and port an end learnt, from a new
// initiator: a data connection to where a command pointed.
func (h *helperRun) from(init string, iport uint16, to netip.Addr, tport uint16, resp string, rport uint16) *testpkt.Flow {
	return &testpkt.Flow{Proto: "tcp", Via: h.via,
		Init: testpkt.End{Addr: netip.MustParseAddr(init), Port: iport, PeerAddr: to, PeerPort: tport, Seq: 3000 + uint32(iport)},
		Resp: testpkt.End{Addr: netip.MustParseAddr(resp), Port: rport, Seq: 7000 + uint32(rport)}}
}

// login opens an FTP control connection and logs in.
func (h *helperRun) login(f *testpkt.Flow) {
	f.Handshake()
	for i, l := range []string{"220 nfgo test\r\n", "USER anonymous\r\n", "331 Password?\r\n", "PASS x\r\n", "230 Welcome.\r\n"} {
		f.Send(i%2 == 1, "PA", l)
	}
}

// line sends one line of the control connection, and reports what the
// peer received.
func line(f *testpkt.Flow, fromClient bool, s string) string {
	return f.Send(fromClient, "PA", s).Payload()
}

// transfer opens a data connection and carries a little data on it.
func transfer(f *testpkt.Flow) {
	if f.Handshake() {
		f.Send(true, "PA", "some file contents")
		f.Send(false, "A", "")
		f.Send(true, "FA", "")
		f.Send(false, "FA", "")
		f.Send(true, "A", "")
	}
}

// helperScenarios drive the control and data connections of each helper
// through the router: without NAT, through SNAT and through a DNAT port
// forward, IPv4 and IPv6, with the hardening cases, and with some
// expectations left waiting at the end so that the final listings
// compare them too.
func helperScenarios(h *helperRun) {
	a := netip.MustParseAddr
	h.label = "FTP active"
	ctl := h.tcp("10.1.0.5", 40001, "203.0.113.20", 21, "203.0.113.20")
	h.login(ctl)
	line(ctl, true, "PORT 10,1,0,5,195,80\r\n")
	line(ctl, false, "200 PORT command successful.\r\n")
	h.label = "FTP active data"
	transfer(h.from("203.0.113.20", 20, a("10.1.0.5"), 50000, "10.1.0.5", 50000))

	h.label = "FTP passive"
	ctl2 := h.tcp("10.1.0.6", 40002, "203.0.113.20", 21, "203.0.113.20")
	h.login(ctl2)
	line(ctl2, true, "PASV\r\n")
	line(ctl2, false, "227 Entering Passive Mode (203,0,113,20,195,81).\r\n")
	h.label = "FTP passive data"
	transfer(h.from("10.1.0.6", 41002, a("203.0.113.20"), 50001, "203.0.113.20", 50001))
	h.label = "FTP EPSV"
	line(ctl2, true, "EPSV\r\n")
	line(ctl2, false, "229 Entering Extended Passive Mode (|||50004|)\r\n")
	transfer(h.from("10.1.0.6", 41004, a("203.0.113.20"), 50004, "203.0.113.20", 50004))

	h.label = "FTP active through SNAT"
	ctl3 := h.tcp("10.8.0.5", 40003, "203.0.113.21", 21, "203.0.113.21")
	h.login(ctl3)
	line(ctl3, true, "PORT 10,8,0,5,195,82\r\n")
	line(ctl3, false, "200 PORT command successful.\r\n")
	h.label = "FTP active data through SNAT"
	transfer(h.from("203.0.113.21", 20, ctl3.Resp.PeerAddr, 50002, "10.8.0.5", 50002))
	h.label = "FTP after the rewrite"
	line(ctl3, true, "EPRT |1|10.8.0.5|50012|\r\n")
	line(ctl3, false, "200 EPRT command successful.\r\n")
	transfer(h.from("203.0.113.21", 20, ctl3.Resp.PeerAddr, 50012, "10.8.0.5", 50012))
	line(ctl3, true, "NOOP\r\n")
	line(ctl3, false, "200 NOOP ok.\r\n")

	h.label = "FTP passive through a port forward"
	ctl4 := h.tcp("198.18.0.9", 40004, "192.0.2.1", 2121, "203.0.113.21")
	ctl4.Resp.Port = 21
	h.login(ctl4)
	line(ctl4, true, "PASV\r\n")
	line(ctl4, false, "227 Entering Passive Mode (203,0,113,21,195,83).\r\n")
	h.label = "FTP passive data through the port forward"
	transfer(h.from("198.18.0.9", 41003, a("192.0.2.1"), 50003, "203.0.113.21", 50003))

	h.label = "FTP EPRT IPv6"
	ctl6 := h.tcp("2001:db8:1::5", 40005, "2001:db8:5::5", 21, "2001:db8:5::5")
	h.login(ctl6)
	line(ctl6, true, "EPRT |2|2001:db8:1::5|50005|\r\n")
	line(ctl6, false, "200 EPRT command successful.\r\n")
	transfer(h.from("2001:db8:5::5", 20, a("2001:db8:1::5"), 50005, "2001:db8:1::5", 50005))

	h.label = "FTP EPRT IPv6 through MASQUERADE"
	ctl7 := h.tcp("2001:db8:7::5", 40006, "2001:db8:5::6", 21, "2001:db8:5::6")
	h.login(ctl7)
	line(ctl7, true, "EPRT |2|2001:db8:7::5|50006|\r\n")
	line(ctl7, false, "200 EPRT command successful.\r\n")
	transfer(h.from("2001:db8:5::6", 20, ctl7.Resp.PeerAddr, 50006, "2001:db8:7::5", 50006))
	h.label = "FTP EPSV IPv6 through MASQUERADE"
	line(ctl7, true, "EPSV\r\n")
	line(ctl7, false, "229 Entering Extended Passive Mode (|||50007|)\r\n")
	transfer(h.from("2001:db8:7::5", 41007, a("2001:db8:5::6"), 50007, "2001:db8:5::6", 50007))

	h.label = "FTP PORT naming another host"
	ctl8 := h.tcp("10.1.0.7", 40008, "203.0.113.20", 21, "203.0.113.20")
	h.login(ctl8)
	line(ctl8, true, "PORT 10,1,0,99,195,90\r\n")
	line(ctl8, false, "200 PORT command successful.\r\n")
	h.from("203.0.113.20", 20, a("10.1.0.99"), 50010, "10.1.0.99", 50010).Send(true, "S", "")

	h.label = "FTP PORT split across segments"
	ctl9 := h.tcp("10.1.0.8", 40009, "203.0.113.20", 21, "203.0.113.20")
	h.login(ctl9)
	ctl9.Send(true, "PA", "PORT 10,1,0,8,19") // dropped: the start of a command only
	line(ctl9, true, "PORT 10,1,0,8,195,91\r\n")
	line(ctl9, false, "200 PORT command successful.\r\n")
	h.label = "FTP expectation used twice"
	transfer(h.from("203.0.113.20", 20, a("10.1.0.8"), 50011, "10.1.0.8", 50011))
	h.from("203.0.113.20", 2020, a("10.1.0.8"), 50011, "10.1.0.8", 50011).Send(true, "S", "")

	h.label = "FTP on a port no rule gives a helper"
	ctl10 := h.tcp("10.1.0.11", 40010, "203.0.113.20", 2100, "203.0.113.20")
	h.login(ctl10)
	line(ctl10, true, "PORT 10,1,0,11,195,92\r\n")
	line(ctl10, false, "200 PORT command successful.\r\n")
	h.from("203.0.113.20", 20, a("10.1.0.11"), 50012, "10.1.0.11", 50012).Send(true, "S", "")

	h.label = "TFTP"
	rrq := h.udp("10.1.0.9", 3000, "203.0.113.30", 69, "203.0.113.30")
	rrq.Send(true, "", "\x00\x01file\x00octet\x00")
	data := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: a("203.0.113.30"), Port: 4444, PeerAddr: a("10.1.0.9"), PeerPort: 3000},
		Resp: testpkt.End{Addr: a("10.1.0.9"), Port: 3000}}
	data.Send(true, "", "\x00\x03\x00\x01data")
	data.Send(false, "", "\x00\x04\x00\x01")
	h.label = "TFTP through SNAT"
	rrq2 := h.udp("10.8.0.9", 3001, "203.0.113.30", 69, "203.0.113.30")
	rrq2.Send(true, "", "\x00\x01file\x00octet\x00")
	data2 := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: a("203.0.113.30"), Port: 4445, PeerAddr: rrq2.Resp.PeerAddr, PeerPort: rrq2.Resp.PeerPort},
		Resp: testpkt.End{Addr: a("10.8.0.9"), Port: 3001}}
	data2.Send(true, "", "\x00\x03\x00\x01data")
	data2.Send(false, "", "\x00\x04\x00\x01")
	h.label = "TFTP IPv6 through MASQUERADE"
	rrq3 := h.udp("2001:db8:7::9", 3002, "2001:db8:5::30", 69, "2001:db8:5::30")
	rrq3.Send(true, "", "\x00\x02file\x00octet\x00")
	data3 := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: a("2001:db8:5::30"), Port: 4446, PeerAddr: rrq3.Resp.PeerAddr, PeerPort: rrq3.Resp.PeerPort},
		Resp: testpkt.End{Addr: a("2001:db8:7::9"), Port: 3002}}
	data3.Send(true, "", "\x00\x04\x00\x00")

	h.label = "IRC DCC"
	irc := h.tcp("10.1.0.10", 40011, "203.0.113.40", 6667, "203.0.113.40")
	irc.Handshake()
	line(irc, true, "NICK alice\r\n")
	line(irc, true, "PRIVMSG bob :\x01DCC SEND file.txt 167837706 5000 1024\x01\r\n")
	transfer(h.from("203.0.113.77", 42000, a("10.1.0.10"), 5000, "10.1.0.10", 5000))
	h.label = "IRC DCC forged"
	line(irc, true, "PRIVMSG bob :\x01DCC SEND x 167837707 5002 1\x01\r\n")
	h.label = "IRC DCC through SNAT"
	irc2 := h.tcp("10.8.0.10", 40012, "203.0.113.40", 6667, "203.0.113.40")
	irc2.Handshake()
	line(irc2, true, "PRIVMSG bob :\x01DCC SEND file.txt 168296458 5001 1024\x01\r\n")
	transfer(h.from("203.0.113.77", 42001, irc2.Resp.PeerAddr, 5001, "10.8.0.10", 5001))
	line(irc2, false, ":bob!b@x PRIVMSG alice :thanks\r\n")
	line(irc2, true, "PRIVMSG bob :you are welcome\r\n")

	// Expectations left waiting, for the final listings.
	h.label = "waiting expectations"
	line(ctl, true, "PORT 10,1,0,5,195,100\r\n")
	line(ctl3, true, "PORT 10,8,0,5,195,101\r\n")
	line(ctl7, true, "EPRT |2|2001:db8:7::5|50022|\r\n")
	line(irc2, true, "PRIVMSG carol :\x01DCC CHAT chat 168296458 5003\x01\r\n")
	rrq.Send(true, "", "\x00\x01other\x00octet\x00")
}

// TestHelpersMatchKernel runs FTP (active, passive, EPRT, EPSV), TFTP and
// IRC DCC sessions through a kernel router with CT --helper rules and
// through nfgo replay with the same rules: every packet's verdict and
// ctstate, every packet that leaves, byte for byte (rewritten commands,
// sequence adjustments), and the final tables of connections and
// expectations must be the same.
func TestHelpersMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	rules, rules6 := "testdata/helpers/helpers.rules", "testdata/helpers/helpers.rules6"
	r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: true, Outside: true})
	restoreFiles(t, r, rules, rules6)
	h := newHelperRun(t, r)
	helperScenarios(h)
	sipScenarios(h)
	h.compare(rules, rules6)
}

// newHelperRun starts a run through router r.
func newHelperRun(t *testing.T, r *kernel.Router) *helperRun {
	return &helperRun{t: t, r: r, fromHost: map[int]bool{}}
}

// compare replays what was sent through nfgo with the rules the kernel
// router has and checks that nfgo agrees with the kernel: every
// packet's verdict and ctstate, every packet that leaves, byte for
// byte, and the final tables of connections and expectations, which it
// returns as conntrack -L lines.
func (h *helperRun) compare(rules, rules6 string) (kernelCT, nfgoCT []string) {
	t, r := h.t, h.r
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	writePcap(t, in, h.sent)
	local := kernel.RouterAddr4 + "/24," + kernel.RouterAddr6 + "/64," + kernel.OutsideAddr4 + "/32@eth1," + kernel.OutsideAddr6 + "/128@eth1"
	args := []string{"--rules", rules, "--local", local}
	if rules6 != "" {
		args = append(args, "--rules6", rules6)
	}
	recs := replayJSON(t, append(args, "--write", out, in)...)
	written := readPcap(t, out)
	if len(recs) != len(h.sent) {
		t.Fatalf("nfgo judged %d packets, %d were sent", len(recs), len(h.sent))
	}
	agree, w, compared, delivered := 0, 0, 0, 0
	for i, f := range h.fates {
		// The kernel's verdict is whether the packet left (forwarded
		// out of eth1, or the router's own out of eth0) or was
		// delivered to the router: a helper drops at confirmation,
		// after the router's counting chains have seen it.
		kv, kstate := "DROP", strings.ToUpper(f.CTState)
		var left []byte
		switch {
		case h.fromHost[i]:
			kv, left = "ACCEPT", f.Replies[0]
		case len(f.Emitted) == 1:
			kv, left = "ACCEPT", f.Emitted[0]
		case f.Input:
			kv = "ACCEPT"
			delivered++
		}
		got := recs[i]
		var ours []byte
		if got.Verdict == "ACCEPT" && w < len(written) {
			ours = written[w]
			w++
		}
		var problems []string
		if got.Verdict != kv || got.CTState != kstate {
			problems = append(problems, fmt.Sprintf("kernel %s %s, nfgo %s %s (%s %s)", kv, kstate, got.Verdict, got.CTState, got.Reason, got.CTReason))
		}
		if left != nil && ours != nil {
			compared++
			if !bytes.Equal(left, ours) {
				problems = append(problems, fmt.Sprintf("leaves differently:\n   kernel %x\n   nfgo   %x", left, ours))
			}
		}
		if len(problems) > 0 {
			t.Errorf("packet %d (%s): %s", i, h.names[i], strings.Join(problems, "; "))
			continue
		}
		agree++
	}
	t.Logf("%d/%d packets agree with the kernel on verdict and ctstate, and leave byte for byte as the kernel's (%d compared byte for byte; %d delivered to the router)", agree, len(h.sent), compared, delivered)

	klines, err := r.Conntrack()
	if err != nil {
		t.Fatal(err)
	}
	kexp, err := r.Exec("conntrack -L expect 2>/dev/null; conntrack -L expect -f ipv6 2>/dev/null", nil)
	if err != nil {
		t.Fatalf("conntrack -L expect: %v %s", err, kexp)
	}
	_, text, _ := runCLI(t, append([]string{"replay", "--conntrack", "--expectations"}, append(args, in)...)...)
	var nlines, nexp []string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case ctLineRE.MatchString(l):
			nlines = append(nlines, l)
		case expLineRE.MatchString(l):
			nexp = append(nexp, l)
		}
	}
	if k, n := normalizeCT(klines), normalizeCT(nlines); strings.Join(k, "\n") != strings.Join(n, "\n") {
		t.Errorf("final tables differ:\n kernel:\n  %s\n nfgo:\n  %s", strings.Join(k, "\n  "), strings.Join(n, "\n  "))
	} else {
		t.Logf("final conntrack tables identical: %d connections", len(k))
	}
	var kx []string
	for _, l := range strings.Split(string(kexp), "\n") {
		if expLineRE.MatchString(l) {
			kx = append(kx, l)
		}
	}
	if k, n := normalizeExp(kx), normalizeExp(nexp); strings.Join(k, "\n") != strings.Join(n, "\n") || len(k) == 0 {
		t.Errorf("final expectations differ:\n kernel:\n  %s\n nfgo:\n  %s", strings.Join(k, "\n  "), strings.Join(n, "\n  "))
	} else {
		t.Logf("final expectation tables identical: %d expectations", len(k))
	}
	return klines, nlines
}

// expLineRE matches a conntrack -L expect line.
var expLineRE = regexp.MustCompile(`^\d+ proto=\d+ `)

// normalizeExp sorts conntrack -L expect lines and blanks their
// timeouts.
func normalizeExp(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		f[0] = "T"
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}
