package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// The helpers end to end: real FTP and TFTP servers and clients, sipp,
// and scripted IRC DCC and PPTP exchanges, through nfgo run --mode path doing
// MASQUERADE, with a stateful ruleset that admits data connections only
// as RELATED by a helper. Each passes with its CT --helper rule and
// fails without it.

// helperRulesE2E is the router's nfgo ruleset; helped says whether the
// raw table attaches the helpers.
func helperRulesE2E(helped bool) string {
	raw := ""
	if helped {
		raw = `-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
-A PREROUTING -p udp -m udp --dport 69 -j CT --helper tftp
-A PREROUTING -p tcp -m tcp --dport 6667 -j CT --helper irc
-A PREROUTING -p udp -m udp --dport 5060 -j CT --helper sip
-A PREROUTING -p tcp -m tcp --dport 1723 -j CT --helper pptp
`
	}
	return "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + raw + `COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o r1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper tftp -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper irc -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper sip -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper pptp -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 1723 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p udp -m udp --dport 5060 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p udp -m udp --dport 69 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 6667 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`
}

// helperRulesE2E6 is the IPv6 ruleset: FTP through MASQUERADE. IRC and
// PPTP have no IPv6 helper in the kernel.
func helperRulesE2E6(helped bool) string {
	s := helperRulesE2E(helped)
	for _, h := range []struct{ port, name string }{{"6667", "irc"}, {"1723", "pptp"}} {
		s = strings.ReplaceAll(s, "-A PREROUTING -p tcp -m tcp --dport "+h.port+" -j CT --helper "+h.name+"\n", "")
		s = strings.ReplaceAll(s, "-A FORWARD -m conntrack --ctstate RELATED -m helper --helper "+h.name+" -j ACCEPT\n", "")
	}
	return s
}

// helperTopo is the path-layout topology with the helpers' rules loaded
// into nfgo run, and the servers started.
func helperTopo(t *testing.T, helped bool) (*topo, *daemonProc) {
	t.Helper()
	tp := newPathTopo(t)
	tp.routerRules6(t, pathPlumbing)
	rules6 := filepath.Join(tp.dir, "nfgo.rules6")
	if err := os.WriteFile(rules6, []byte(helperRulesE2E6(helped)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := tp.startDaemon(t, helperRulesE2E(helped), "--mode", "path", "--rules6", rules6)
	return tp, d
}

// fileBody is what the servers serve: big enough for several segments.
var fileBody = strings.Repeat("nfgo helper end-to-end test file\n", 2000)

// startVsftpd runs vsftpd in the server namespace, serving fileBody
// anonymously on both families, active and passive.
func startVsftpd(t *testing.T, tp *topo) {
	t.Helper()
	kernel.Require(t, "vsftpd")
	root := filepath.Join(tp.dir, "ftproot")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o555) // vsftpd refuses a writable anonymous root
	if err := os.WriteFile(filepath.Join(root, "file"), []byte(fileBody), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(tp.dir, "vsftpd-empty")
	os.MkdirAll(empty, 0o755)
	conf := filepath.Join(tp.dir, "vsftpd.conf")
	if err := os.WriteFile(conf, []byte(strings.Join([]string{
		"listen=NO", "listen_ipv6=YES", "background=NO", "anonymous_enable=YES", "local_enable=NO",
		"anon_root=" + root, "no_anon_password=YES", "secure_chroot_dir=" + empty,
		"connect_from_port_20=YES", "pasv_min_port=50000", "pasv_max_port=50100",
		"seccomp_sandbox=NO", "isolate_network=NO", "isolate=NO", "xferlog_enable=NO",
		"vsftpd_log_file=" + filepath.Join(tp.dir, "vsftpd.log"), "",
	}, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", tp.server.Name, "vsftpd", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitTCP(t, tp.server, "[::1]:21")
}

// waitTCP waits until something listens on addr in ns.
func waitTCP(t *testing.T, ns *kernel.Netns, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := ns.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// curl fetches url from the client namespace with curl's extra flags,
// bounded in time.
func curl(tp *topo, url string, flags ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"netns", "exec", tp.client.Name, "curl", "-sS", "--max-time", "8", "--connect-timeout", "4"}, flags...)
	out, err := exec.CommandContext(ctx, "ip", append(args, url)...).CombinedOutput()
	return string(out), err
}

func TestFTPThroughNfgoRun(t *testing.T) {
	kernel.Require(t, "curl", "vsftpd")
	modes := []struct {
		name, url string
		flags     []string
	}{
		{"passive EPSV", "ftp://10.2.0.2/file", nil},
		{"passive PASV", "ftp://10.2.0.2/file", []string{"--disable-epsv"}},
		{"active EPRT", "ftp://10.2.0.2/file", []string{"--ftp-port", "-"}},
		{"active PORT", "ftp://10.2.0.2/file", []string{"--ftp-port", "-", "--disable-eprt"}},
		{"IPv6 passive EPSV", "ftp://[fd02::2]/file", nil},
		{"IPv6 active EPRT", "ftp://[fd02::2]/file", []string{"--ftp-port", "-"}},
	}
	for _, helped := range []bool{true, false} {
		t.Run(fmt.Sprintf("helped=%v", helped), func(t *testing.T) {
			tp, d := helperTopo(t, helped)
			startVsftpd(t, tp)
			for _, m := range modes {
				// An active transfer without the helper would wait for
				// its data connection until curl gives up; a short wait
				// shows it just as well.
				flags := m.flags
				if !helped {
					flags = append([]string{"--max-time", "3"}, flags...)
				}
				body, err := curl(tp, m.url, flags...)
				ok := err == nil && body == fileBody
				if ok != helped {
					t.Errorf("%s with the helper %v: transfer ok %v (%d bytes, %v): %s", m.name, helped, ok, len(body), err, firstLine(body))
				}
			}
			if helped {
				out := d.command(t, "stats")
				if metricValue(out, "nfgo_rewritten_packets_total") == 0 {
					t.Errorf("no packet rewritten:\n%s", out)
				}
			}
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func TestTFTPThroughNfgoRun(t *testing.T) {
	kernel.Require(t, "in.tftpd", "tftp")
	for _, helped := range []bool{true, false} {
		t.Run(fmt.Sprintf("helped=%v", helped), func(t *testing.T) {
			tp, _ := helperTopo(t, helped)
			root := filepath.Join(tp.dir, "tftproot")
			os.MkdirAll(root, 0o755)
			os.WriteFile(filepath.Join(root, "file"), []byte(fileBody), 0o644)
			srv := exec.Command("ip", "netns", "exec", tp.server.Name, "in.tftpd", "--foreground", "--listen", "--address", "10.2.0.2:69", "--secure", root)
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
			time.Sleep(200 * time.Millisecond)
			out := filepath.Join(tp.dir, "got")
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			// tftp-hpa retries for a while; a few seconds tell.
			res, err := exec.CommandContext(ctx, "ip", "netns", "exec", tp.client.Name, "sh", "-c",
				"timeout 5 tftp -m binary 10.2.0.2 -c get file "+out).CombinedOutput()
			got, _ := os.ReadFile(out)
			ok := err == nil && string(got) == fileBody
			if ok != helped {
				t.Errorf("TFTP with the helper %v: transfer ok %v (%d bytes, %v): %s", helped, ok, len(got), err, res)
			}
		})
	}
}

// TestIRCDCCThroughNfgoRun scripts both sides of an IRC DCC SEND: the
// client offers a file through an IRC server with its own address and a
// port; the server side reads the offer as the peer would get it and
// connects there. Through MASQUERADE, only the helper's rewrite makes the
// offer name an address the peer can reach, and only its expectation
// lets the connection in.
func TestIRCDCCThroughNfgoRun(t *testing.T) {
	for _, helped := range []bool{true, false} {
		t.Run(fmt.Sprintf("helped=%v", helped), func(t *testing.T) {
			tp, _ := helperTopo(t, helped)
			var irc, dcc net.Listener
			err := tp.server.Do(func() (err error) {
				irc, err = net.Listen("tcp", "10.2.0.2:6667")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer irc.Close()
			if err := tp.client.Do(func() (err error) {
				dcc, err = net.Listen("tcp", "10.1.0.2:0")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer dcc.Close()
			go func() {
				c, err := dcc.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.Write([]byte(fileBody))
			}()
			offers := make(chan string, 1)
			go func() {
				c, err := irc.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				l, _ := bufio.NewReader(c).ReadString('\n')
				offers <- l
			}()
			var c net.Conn
			if err := tp.client.Do(func() (err error) {
				c, err = net.DialTimeout("tcp", "10.2.0.2:6667", 3*time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			port := dcc.Addr().(*net.TCPAddr).Port
			// 10.1.0.2 as IRC writes it: 167837698.
			fmt.Fprintf(c, "PRIVMSG bob :\x01DCC SEND file 167837698 %d %d\x01\r\n", port, len(fileBody))
			var offer string
			select {
			case offer = <-offers:
			case <-time.After(5 * time.Second):
				t.Fatal("the IRC server got no offer")
			}
			var ip, p uint64
			var size int
			if _, err := fmt.Sscanf(strings.TrimSpace(offer), "PRIVMSG bob :\x01DCC SEND file %d %d %d\x01", &ip, &p, &size); err != nil {
				t.Fatalf("offer %q: %v", offer, err)
			}
			addr := net.JoinHostPort(net.IPv4(byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)).String(), fmt.Sprint(p))
			var got []byte
			err = tp.server.Do(func() error {
				dc, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					return err
				}
				defer dc.Close()
				dc.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(dc)
				got = make([]byte, len(fileBody))
				_, err = io.ReadFull(r, got)
				return err
			})
			ok := err == nil && string(got) == fileBody
			if ok != helped {
				t.Errorf("DCC with the helper %v: offer %q, transfer from %s ok %v (%v)", helped, strings.TrimSpace(offer), addr, ok, err)
			}
			if helped && addr != fmt.Sprintf("10.2.0.1:%d", port) {
				t.Errorf("the offer names %s, want the router's 10.2.0.1 and the client's port", addr)
			}
		})
	}
}

// TestIRCDCCResumeThroughNfgoRun resumes a DCC transfer through
// MASQUERADE whose offer had to change port, which the kernel's NAT
// cannot do: two IRC connections from the client offer the same port, so
// the second offer reaches the peer with another one. The peer's DCC
// RESUME must reach the client naming the client's own port, and the
// client's DCC ACCEPT the peer naming the peer's; the peer then fetches
// the rest of the file.
func TestIRCDCCResumeThroughNfgoRun(t *testing.T) {
	tp, _ := helperTopo(t, true)
	var irc, dcc net.Listener
	if err := tp.server.Do(func() (err error) {
		irc, err = net.Listen("tcp", "10.2.0.2:6667")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer irc.Close()
	if err := tp.client.Do(func() (err error) {
		dcc, err = net.Listen("tcp", "10.1.0.2:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer dcc.Close()
	const offset = 1000
	go func() {
		c, err := dcc.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(fileBody[offset:]))
	}()
	// The server end of each IRC connection, in accept order.
	servers := make(chan net.Conn, 2)
	go func() {
		for range 2 {
			c, err := irc.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(8 * time.Second))
			servers <- c
		}
	}()
	port := dcc.Addr().(*net.TCPAddr).Port
	var clients [2]net.Conn
	var peers [2]*bufio.Reader
	var peerConns [2]net.Conn
	for i := range clients {
		if err := tp.client.Do(func() (err error) {
			clients[i], err = net.DialTimeout("tcp", "10.2.0.2:6667", 3*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer clients[i].Close()
		clients[i].SetDeadline(time.Now().Add(8 * time.Second))
		select {
		case peerConns[i] = <-servers:
			defer peerConns[i].Close()
			peers[i] = bufio.NewReader(peerConns[i])
		case <-time.After(5 * time.Second):
			t.Fatal("the IRC server accepted no connection")
		}
		// 10.1.0.2 as IRC writes it: 167837698.
		fmt.Fprintf(clients[i], "PRIVMSG bob :\x01DCC SEND file 167837698 %d %d\x01\r\n", port, len(fileBody))
	}
	var offers [2]string
	for i := range peers {
		l, err := peers[i].ReadString('\n')
		if err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
		offers[i] = strings.TrimSpace(l)
	}
	var ip, given uint64
	var size int
	if _, err := fmt.Sscanf(offers[1], "PRIVMSG bob :\x01DCC SEND file %d %d %d\x01", &ip, &given, &size); err != nil {
		t.Fatalf("offer %q: %v", offers[1], err)
	}
	if int(given) == port {
		t.Fatalf("the second offer kept port %d: %q, %q", port, offers[0], offers[1])
	}
	// The peer asks to resume at offset; the client must see its port.
	fmt.Fprintf(peerConns[1], ":bob!b@h PRIVMSG alice :\x01DCC RESUME file %d %d\x01\r\n", given, offset)
	r := bufio.NewReader(clients[1])
	resume, err := r.ReadString('\n')
	if want := fmt.Sprintf(":bob!b@h PRIVMSG alice :\x01DCC RESUME file %d %d\x01\r\n", port, offset); err != nil || resume != want {
		t.Fatalf("the client got %q (%v), want %q", resume, err, want)
	}
	fmt.Fprintf(clients[1], "PRIVMSG bob :\x01DCC ACCEPT file %d %d\x01\r\n", port, offset)
	accept, err := peers[1].ReadString('\n')
	if want := fmt.Sprintf("PRIVMSG bob :\x01DCC ACCEPT file %d %d\x01\r\n", given, offset); err != nil || accept != want {
		t.Fatalf("the peer got %q (%v), want %q", accept, err, want)
	}
	// The control connection goes on after the rewrites changed lengths.
	fmt.Fprintf(clients[1], "PING :still here\r\n")
	if l, err := peers[1].ReadString('\n'); err != nil || l != "PING :still here\r\n" {
		t.Errorf("after the rewrites the server got %q, %v", l, err)
	}
	addr := net.JoinHostPort(net.IPv4(byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)).String(), fmt.Sprint(given))
	var got []byte
	err = tp.server.Do(func() error {
		dc, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer dc.Close()
		dc.SetDeadline(time.Now().Add(5 * time.Second))
		got, err = io.ReadAll(dc)
		return err
	})
	if err != nil || string(got) != fileBody[offset:] {
		t.Errorf("the resumed transfer from %s: %d bytes (%v), want the %d after offset %d", addr, len(got), err, len(fileBody)-offset, offset)
	}
}

// TestPPTPCallThroughNfgoRun scripts both ends of a PPTP call: the
// client (PNS) opens a session over TCP and an outgoing call, and both
// ends then exchange GRE over raw sockets. pptpd and pppd would need the
// kernel's PPP support, which the test machines lack; the control
// messages and GRE framing are RFC 2637's. Through MASQUERADE the
// server sees the client's call ID changed to the control connection's
// port and the client gets its own back; with the helper the GRE is
// RELATED and flows both ways, without it the forward chain drops it.
func TestPPTPCallThroughNfgoRun(t *testing.T) {
	for _, helped := range []bool{true, false} {
		t.Run(fmt.Sprintf("helped=%v", helped), func(t *testing.T) {
			tp, _ := helperTopo(t, helped)
			var ln net.Listener
			if err := tp.server.Do(func() (err error) {
				ln, err = net.Listen("tcp", "10.2.0.2:1723")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// The server's side: a GRE socket, and the control
			// connection answered message by message. It reports the
			// call ID the client's Outgoing-Call-Request carried.
			var serverGRE, clientGRE net.PacketConn
			if err := tp.server.Do(func() (err error) { serverGRE, err = net.ListenPacket("ip4:gre", "10.2.0.2"); return err }); err != nil {
				t.Fatal(err)
			}
			defer serverGRE.Close()
			if err := tp.client.Do(func() (err error) { clientGRE, err = net.ListenPacket("ip4:gre", "10.1.0.2"); return err }); err != nil {
				t.Fatal(err)
			}
			defer clientGRE.Close()
			const clientCall, serverCall = 0x1111, 0x2222
			seen := make(chan uint16, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := readPPTP(c); err != nil { // Start-Control-Connection-Request
					return
				}
				c.Write(testpkt.PPTPControl(2, 0x0100, 1<<8))
				req, err := readPPTP(c) // Outgoing-Call-Request
				if err != nil {
					return
				}
				id := testpkt.PPTPCallID(req, 0)
				seen <- id
				c.Write(testpkt.PPTPControl(8, serverCall, id, 1<<8))
				io.Copy(io.Discard, c)
			}()
			var c net.Conn
			if err := tp.client.Do(func() (err error) {
				c, err = net.DialTimeout("tcp", "10.2.0.2:1723", 3*time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write(testpkt.PPTPControl(1, 0x0100))
			if _, err := readPPTP(c); err != nil {
				t.Fatalf("Start-Control-Connection-Reply: %v", err)
			}
			c.Write(testpkt.PPTPControl(7, clientCall, 1))
			rep, err := readPPTP(c)
			if err != nil {
				t.Fatalf("Outgoing-Call-Reply: %v", err)
			}
			natted := <-seen
			_, port, _ := net.SplitHostPort(c.LocalAddr().String())
			if helped && fmt.Sprint(natted) != port || !helped && natted != clientCall {
				t.Errorf("the server saw call ID %#x (client port %s)", natted, port)
			}
			if got := testpkt.PPTPCallID(rep, 2); got != clientCall {
				t.Errorf("the client's call ID came back as %#x, want %#x", got, clientCall)
			}

			// Each end sends GRE to the other's call ID, up to three
			// times, until one arrives.
			pass := func(from, to net.PacketConn, dst string, call uint16) (net.Addr, uint16, bool) {
				frame := greFrame(call)
				for range 3 {
					if _, err := from.WriteTo(frame, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
						t.Fatal(err)
					}
					to.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
					buf := make([]byte, 1500)
					n, src, err := to.ReadFrom(buf)
					if err == nil && n >= 8 {
						return src, uint16(buf[6])<<8 | uint16(buf[7]), true
					}
				}
				return nil, 0, false
			}
			src, call, ok := pass(clientGRE, serverGRE, "10.2.0.2", serverCall)
			if ok != helped {
				t.Fatalf("the client's GRE reached the server: %v, want %v", ok, helped)
			}
			if !helped {
				return
			}
			if src.String() != "10.2.0.1" || call != serverCall {
				t.Errorf("the server got GRE from %v for call %#x, want the router's 10.2.0.1, call %#x", src, call, serverCall)
			}
			src, call, ok = pass(serverGRE, clientGRE, "10.2.0.1", natted)
			if !ok || src.String() != "10.2.0.2" || call != clientCall {
				t.Errorf("the client got GRE %v from %v for call %#x, want from 10.2.0.2 for call %#x", ok, src, call, clientCall)
			}
		})
	}
}

// readPPTP reads one PPTP control message (its length comes first).
func readPPTP(c net.Conn) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[0])<<8 | int(hdr[1])
	if n < 12 {
		return nil, fmt.Errorf("PPTP message of %d bytes", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(c, msg[2:])
	return msg, err
}

// greFrame is a PPTP data packet's GRE header and a PPP frame, for call.
func greFrame(call uint16) []byte {
	ppp := []byte("\xff\x03\x00\x21a PPP frame")
	b := []byte{0x30, 0x01, 0x88, 0x0b, byte(len(ppp) >> 8), byte(len(ppp)), byte(call >> 8), byte(call), 0, 0, 0, 1}
	return append(b, ppp...)
}

// TestSIPCallThroughNfgoRun places a call with sipp: the UAC (playing
// G.711 RTP from a capture) calls the UAS, which echoes the RTP back,
// through MASQUERADE. With the helper the RTP is RELATED and flows both
// ways; without it the media are dropped (the signalling gets through
// either way).
func TestSIPCallThroughNfgoRun(t *testing.T) {
	kernel.Require(t, "sipp")
	pcaps, _ := filepath.Glob("/usr/share/sip-tester/*.pcap")
	if len(pcaps) == 0 {
		t.Skip("sipp's sample captures (/usr/share/sip-tester/*.pcap) are not installed")
	}
	for _, helped := range []bool{true, false} {
		t.Run(fmt.Sprintf("helped=%v", helped), func(t *testing.T) {
			tp, d := helperTopo(t, helped)
			// uac_pcap plays pcap/g711a.pcap, relative to its directory.
			work := filepath.Join(tp.dir, "sipp")
			os.MkdirAll(filepath.Join(work, "pcap"), 0o755)
			for _, p := range pcaps {
				b, _ := os.ReadFile(p)
				os.WriteFile(filepath.Join(work, "pcap", filepath.Base(p)), b, 0o644)
			}
			uas := exec.Command("ip", "netns", "exec", tp.server.Name, "timeout", "30", "sipp", "-sn", "uas", "-i", "10.2.0.2", "-p", "5060",
				"-m", "1", "-rtp_echo", "-mp", "6000", "-mi", "10.2.0.2", "-nostdin")
			uas.Dir = work
			if err := uas.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { uas.Process.Kill(); uas.Wait() })
			time.Sleep(300 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			uac := exec.CommandContext(ctx, "ip", "netns", "exec", tp.client.Name, "sipp", "-sn", "uac_pcap", "10.2.0.2:5060",
				"-i", "10.1.0.2", "-p", "5060", "-m", "1", "-mi", "10.1.0.2", "-nostdin", "-timeout", "20s")
			uac.Dir = work
			out, err := uac.CombinedOutput()
			if err != nil {
				t.Fatalf("the call failed (%v): %s", err, lastLines(string(out), 5))
			}
			// The echoed RTP shows as replies of the media connection.
			ct := d.command(t, "conntrack", "-L")
			echoed := false
			for _, l := range strings.Split(ct, "\n") {
				if strings.HasPrefix(l, "udp") && strings.Contains(l, "dport=6000 ") {
					f := strings.Fields(l)
					n := 0
					for _, x := range f {
						if strings.HasPrefix(x, "packets=") {
							n++
							if n == 2 && x != "packets=0" {
								echoed = true
							}
						}
					}
				}
			}
			if echoed != helped {
				t.Errorf("with the helper %v, RTP echoed %v:\n%s", helped, echoed, ct)
			}
		})
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
