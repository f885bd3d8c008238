package ctsync

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// syncPair is two namespaces joined by a dedicated sync link, sync0:
// 10.99.0.1 in a, 10.99.0.2 in b.
type syncPair struct {
	a, b *kernel.Netns
	dir  string
}

const (
	syncAddrA = "10.99.0.1"
	syncAddrB = "10.99.0.2"
	syncPort  = 3780
)

func newSyncPair(t *testing.T) *syncPair {
	t.Helper()
	kernel.Require(t, "ip", "conntrack", "conntrackd")
	p := &syncPair{a: kernel.NewNetns(t, "sync-a"), b: kernel.NewNetns(t, "sync-b"), dir: t.TempDir()}
	kernel.Veth(t, p.a, "sync0", syncAddrA+"/24", p.b, "sync0", syncAddrB+"/24")
	return p
}

// conntrackdConf is a conntrackd.conf for one end of the pair: mode is
// "FTFW" or "NOTRACK" with its options, local and peer the two sync
// addresses.
func (p *syncPair) conntrackdConf(t *testing.T, name, mode, local, peer string) string {
	t.Helper()
	return p.writeConf(t, name, mode, fmt.Sprintf(`UDP {
		IPv4_address %s
		IPv4_Destination_Address %s
		Port %d
		Interface sync0
		Checksum on
	}`, local, peer, syncPort))
}

// writeConf writes a conntrackd.conf for one end of the pair, with the
// mode block and the link block given.
func (p *syncPair) writeConf(t *testing.T, name, mode, link string) string {
	t.Helper()
	conf := fmt.Sprintf(`Sync {
	Mode %s
	%s
}
General {
	HashSize 8192
	HashLimit 65536
	LogFile %s
	Syslog off
	LockFile %s
	UNIX {
		Path %s
	}
	Filter From Kernelspace {
		Address Ignore {
			IPv4_address 127.0.0.1
			IPv4_address %s
			IPv4_address %s
		}
	}
}
`, mode, link, filepath.Join(p.dir, name+".log"), filepath.Join(p.dir, name+".lock"),
		filepath.Join(p.dir, name+".ctl"), syncAddrA, syncAddrB)
	path := filepath.Join(p.dir, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startConntrackd runs conntrackd in ns in the foreground until the test
// ends, and returns its process.
func (p *syncPair) startConntrackd(t *testing.T, ns *kernel.Netns, conf string) *os.Process {
	t.Helper()
	// Events for every change, also of connections made before
	// conntrackd subscribed (ha-conntrackd.md: nf_conntrack_events=2
	// sends none for those).
	ns.MustExec(t, "sysctl -qw net.netfilter.nf_conntrack_events=1")
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "conntrackd", "-C", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(strings.TrimSuffix(conf, ".conf") + ".log")
			t.Logf("conntrackd output: %s\nlog: %s", out.Bytes(), log)
		}
	})
	// Ready once its control socket answers: by then it has subscribed
	// to the kernel's events, and a connection made now is not missed.
	kernel.WaitFor(t, "conntrackd to answer on its control socket", func() bool {
		_, err := ns.Exec("conntrackd -C "+conf+" -s >/dev/null 2>&1", nil)
		return err == nil
	})
	return cmd.Process
}

// listen opens a UDP socket on addr:syncPort in ns.
func listen(t *testing.T, ns *kernel.Netns, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := ns.Do(func() (err error) {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr), Port: syncPort})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receive reads datagrams until want connection messages have arrived
// or the deadline passes, and returns the connection messages.
func receive(t *testing.T, c *net.UDPConn, want int, timeout time.Duration) [][]byte {
	t.Helper()
	var msgs [][]byte
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	for len(msgs) < want {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d of %d connection messages: %v", len(msgs), want, err)
		}
		for b := buf[:n]; len(b) > 0; {
			h, err := ParseHeader(b)
			if err != nil {
				t.Fatalf("conntrackd sent a message nfgo cannot parse: %v: % x", err, b)
			}
			if h.Type <= TypeDelete {
				msgs = append(msgs, bytes.Clone(b[:h.Len]))
			}
			b = b[h.Len:]
		}
	}
	return msgs
}

// kernelConns are connections made with conntrack -I, and what each
// must decode to.
var kernelConns = []struct {
	args     string
	orig     string // the original tuple, as conntrack -L prints it
	reply    string
	state    conntrack.TCPState
	status   conntrack.Status // bits that must be set
	mark     uint32
	attrs    []Attr // attributes the message must carry
	noAttrs  []Attr // and must not
	sctp     conntrack.SCTPState
	vtag     [2]uint32
	timeout  uint32
	zoneWant uint16
}{
	{
		args: "-p tcp -s 192.0.2.10 -d 198.51.100.20 --sport 40000 --dport 80 --state ESTABLISHED -t 300 -u ASSURED,SEEN_REPLY --src-nat 203.0.113.5:61000 -m 42",
		orig: "src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80", reply: "src=198.51.100.20 dst=203.0.113.5 sport=80 dport=61000",
		state: conntrack.TCPEstablished, status: conntrack.StatusAssured | conntrack.StatusSeenReply | conntrack.StatusSrcNAT,
		mark: 42, timeout: 300, attrs: []Attr{AttrSNATIPv4, AttrSNATPort}, noAttrs: []Attr{AttrDNATIPv4, AttrDNATPort, AttrZone},
	},
	{
		args: "-p tcp -s 192.0.2.13 -d 198.51.100.23 --sport 40001 --dport 8080 --state SYN_SENT -t 100 --dst-nat 10.0.0.5:80 -w 7",
		orig: "src=192.0.2.13 dst=198.51.100.23 sport=40001 dport=8080", reply: "src=10.0.0.5 dst=192.0.2.13 sport=80 dport=40001",
		state: conntrack.TCPSynSent, status: conntrack.StatusDstNAT, timeout: 100, zoneWant: 7,
		attrs: []Attr{AttrDNATIPv4, AttrDNATPort, AttrZone}, noAttrs: []Attr{AttrSNATIPv4, AttrSNATPort},
	},
	{
		args: "-p udp -s 2001:db8::1 -d 2001:db8:1::2 --sport 5000 --dport 53 -t 30 --src-nat 2001:db8:ff::1",
		orig: "src=2001:db8::1 dst=2001:db8:1::2 sport=5000 dport=53", reply: "src=2001:db8:1::2 dst=2001:db8:ff::1 sport=53 dport=5000",
		status: conntrack.StatusSrcNAT, timeout: 30, attrs: []Attr{AttrIPv6, AttrSNATIPv6}, noAttrs: []Attr{AttrSNATPort, AttrIPv4},
	},
	{
		args: "-p icmp -s 192.0.2.12 -d 198.51.100.22 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 30",
		orig: "src=192.0.2.12 dst=198.51.100.22 type=8 code=0 id=4660", reply: "src=198.51.100.22 dst=192.0.2.12 type=0 code=0 id=4660",
		timeout: 30, attrs: []Attr{AttrICMPType, AttrICMPCode, AttrICMPID}, noAttrs: []Attr{AttrPort},
	},
	{
		args: "-p sctp -s 192.0.2.14 -d 198.51.100.24 --sport 3000 --dport 3001 --state ESTABLISHED --orig-vtag 11 --reply-vtag 22 -t 30",
		orig: "src=192.0.2.14 dst=198.51.100.24 sport=3000 dport=3001", reply: "src=198.51.100.24 dst=192.0.2.14 sport=3001 dport=3000",
		sctp: conntrack.SCTPEstablished, vtag: [2]uint32{11, 22}, timeout: 30, attrs: []Attr{AttrSCTPState, AttrSCTPVTagOrig, AttrSCTPVTagReply},
	},
}

// TestDecodeWhatConntrackdSends creates connections in a kernel with
// conntrack -I, lets a stock conntrackd in FTFW mode send them, and
// checks that each message decodes to the connection the kernel has
// and that nfgo's encoder writes the same bytes. With
// NFGO_CTSYNC_CAPTURE set, the messages are written there (the goldens in
// testdata come from it).
func TestDecodeWhatConntrackdSends(t *testing.T) {
	p := newSyncPair(t)
	rx := listen(t, p.b, syncAddrB)
	p.startConntrackd(t, p.a, p.conntrackdConf(t, "a", "FTFW {\n\t}", syncAddrA, syncAddrB))
	// conntrackd is up once its first keepalive arrives.
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := rx.ReadFromUDP(make([]byte, 65536)); err != nil {
		t.Fatalf("no keepalive from conntrackd: %v", err)
	}
	for _, kc := range kernelConns {
		p.a.MustExec(t, "conntrack -I "+kc.args+" 2>&1")
	}
	msgs := receive(t, rx, len(kernelConns), 10*time.Second)
	if path := os.Getenv("NFGO_CTSYNC_CAPTURE"); path != "" {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(hex.EncodeToString(m) + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]byte{}
	for _, m := range msgs {
		h, c, err := DecodeConn(m)
		if err != nil {
			t.Fatalf("%v: % x", err, m)
		}
		if h.Type != TypeNew {
			t.Errorf("%v: message type %v, want CT_NEW", c.Orig, h.Type)
		}
		got[c.Orig.String()] = m
	}
	for _, kc := range kernelConns {
		m, ok := got[kc.orig]
		if !ok {
			t.Errorf("no message for %s (got %d messages)", kc.orig, len(msgs))
			continue
		}
		h, c, _ := DecodeConn(m)
		if c.VTag != kc.vtag {
			t.Errorf("%s: verification tags %v, want %v", kc.orig, c.VTag, kc.vtag)
		}
		checkDecoded(t, &c, kc.reply, kc.state, kc.sctp, kc.status, kc.mark, kc.timeout, kc.zoneWant, kc.attrs, kc.noAttrs)
		if again := AppendConn(nil, h.Type, h.Flags, h.Seq, &c, Latest); !bytes.Equal(again, m) {
			t.Errorf("%s: nfgo encodes\n% x\nconntrackd sent\n% x", kc.orig, again, m)
		}
	}
}

func checkDecoded(t *testing.T, c *Conn, reply string, state conntrack.TCPState, sctp conntrack.SCTPState, status conntrack.Status,
	mark, timeout uint32, zone uint16, attrs, noAttrs []Attr) {
	t.Helper()
	name := c.Orig.String()
	if r, ok := c.Reply(); !ok || r.String() != reply {
		t.Errorf("%s: reply %v, want %s", name, r, reply)
	}
	if c.TCPState != state || c.SCTPState != sctp {
		t.Errorf("%s: states %v/%v, want %v/%v", name, c.TCPState, c.SCTPState, state, sctp)
	}
	if c.Status&status != status || c.Status&conntrack.StatusConfirmed == 0 {
		t.Errorf("%s: status %v, want %v and CONFIRMED", name, c.Status, status)
	}
	if c.Mark != mark || c.Orig.Zone != zone {
		t.Errorf("%s: mark %d zone %d, want %d and %d", name, c.Mark, c.Orig.Zone, mark, zone)
	}
	// The message leaves a moment after the connection is made.
	if c.Timeout > timeout || c.Timeout+5 < timeout {
		t.Errorf("%s: timeout %d, want about %d", name, c.Timeout, timeout)
	}
	for _, a := range attrs {
		if !c.Attrs.Has(a) {
			t.Errorf("%s: no attribute %d", name, a)
		}
	}
	for _, a := range noAttrs {
		if c.Attrs.Has(a) {
			t.Errorf("%s: attribute %d, want none", name, a)
		}
	}
}

// TestConntrackdTakesWhatNfgoSends sends nfgo's messages to a stock
// conntrackd in NOTRACK mode that injects what it receives straight
// into its kernel (DisableExternalCache), and checks with conntrack -L
// that the kernel then has each connection, NAT bindings included.
func TestConntrackdTakesWhatNfgoSends(t *testing.T) {
	p := newSyncPair(t)
	p.startConntrackd(t, p.b, p.conntrackdConf(t, "b", "NOTRACK {\n\t\tDisableExternalCache on\n\t}", syncAddrB, syncAddrA))
	conns := sentConns(t)
	var tx *net.UDPConn
	err := p.a.Do(func() (err error) {
		tx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(syncAddrA), Port: syncPort})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	want := sentListed
	// conntrackd may still be starting: send until the kernel has them
	// all, a bounded number of times.
	var listed []string
	seq := uint32(1000)
	for try := 0; try < 50; try++ {
		var dgram []byte
		for i := range conns {
			c := FromConn(&conns[i], conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
			dgram = AppendConn(dgram, TypeUpdate, 0, seq, &c, Latest)
			seq++
		}
		// Until conntrackd listens, its kernel answers port unreachable,
		// which a later write may report.
		if _, err := tx.WriteToUDP(dgram, &net.UDPAddr{IP: net.ParseIP(syncAddrB), Port: syncPort}); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		out, err := p.b.Exec("conntrack -L 2>/dev/null", nil)
		if err != nil {
			t.Fatalf("conntrack -L: %v: %s", err, out)
		}
		listed = normalize(string(out))
		if len(listed) == len(want) {
			break
		}
	}
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("the kernel behind conntrackd has\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
}

// normalize drops the timeout and use count from conntrack -L lines, and
// sorts them.
func normalize(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		var keep []string
		for i, w := range f {
			if i == 2 || strings.HasPrefix(w, "use=") {
				continue
			}
			keep = append(keep, w)
		}
		lines = append(lines, f[0]+"      "+strings.Join(keep[1:], " "))
	}
	slices.Sort(lines)
	return lines
}

// natConn builds a confirmed connection with the given original and
// reply ends.
func natConn(t *testing.T, proto, src, dst, rsrc, rdst string, status conntrack.Status, state conntrack.TCPState, mark uint32) conntrack.Conn {
	t.Helper()
	p := map[string]uint8{"tcp": packet.ProtoTCP, "udp": packet.ProtoUDP}[proto]
	tuple := func(s, d string) conntrack.Tuple {
		sa, da := netip.MustParseAddrPort(s), netip.MustParseAddrPort(d)
		tp := conntrack.Tuple{Proto: p, SrcPort: sa.Port(), DstPort: da.Port(), Family: packet.IPv4}
		if sa.Addr().Is6() {
			tp.Family = packet.IPv6
		}
		tp.Src, tp.Dst = addr16(sa.Addr()), addr16(da.Addr())
		return tp
	}
	return conntrack.Conn{
		Orig: tuple(src, dst), Reply: tuple(rsrc, rdst), Status: status | conntrack.StatusConfirmed,
		TCPState: state, Timeout: 120 * time.Second, Mark: mark,
	}
}

// sentConns are the connections the tests send to conntrackd: SNAT to
// another port, DNAT to another port, and IPv6 SNAT.
func sentConns(t *testing.T) []conntrack.Conn {
	t.Helper()
	return []conntrack.Conn{
		natConn(t, "tcp", "192.0.2.10:40000", "198.51.100.20:80", "198.51.100.20:80", "203.0.113.5:61000",
			conntrack.StatusSrcNAT|conntrack.StatusAssured|conntrack.StatusSeenReply, conntrack.TCPEstablished, 0x2a),
		natConn(t, "tcp", "192.0.2.13:40001", "198.51.100.23:8080", "10.0.0.5:80", "192.0.2.13:40001",
			conntrack.StatusDstNAT, conntrack.TCPSynSent, 0),
		natConn(t, "udp", "[2001:db8::1]:5000", "[2001:db8:1::2]:53", "[2001:db8:1::2]:53", "[2001:db8:ff::1]:5000",
			conntrack.StatusSrcNAT, 0, 7),
	}
}

// sentListed is how conntrack -L lists sentConns once a kernel has them
// (normalized).
var sentListed = []string{
	"tcp      6 ESTABLISHED src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80 src=198.51.100.20 dst=203.0.113.5 sport=80 dport=61000 [ASSURED] mark=42",
	"tcp      6 SYN_SENT src=192.0.2.13 dst=198.51.100.23 sport=40001 dport=8080 [UNREPLIED] src=10.0.0.5 dst=192.0.2.13 sport=80 dport=40001 mark=0",
	"udp      17 src=2001:db8::1 dst=2001:db8:1::2 sport=5000 dport=53 [UNREPLIED] src=2001:db8:1::2 dst=2001:db8:ff::1 sport=53 dport=5000 mark=7",
}
