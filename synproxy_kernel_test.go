package nfgo_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// synproxyRules are SYNPROXY's deployment as its man page gives it: the
// clients' SYNs untracked, SYNPROXY for what conntrack does not know
// (the SYN, and the ACK of a cookie), everything else INVALID dropped.
const synproxyRules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --syn -j CT --notrack
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID -j DROP
COMMIT
`

// proxyRouter is a router running synproxyRules: a packet from the
// client (on eth0) or from the server (on eth1) goes in, and what the
// router sends toward each comes out.
type proxyRouter interface {
	fromClient(b []byte) (toClient, toServer [][]byte)
	fromServer(b []byte) (toClient, toServer [][]byte)
	stats() synproxy.Stats
}

type kernelProxy struct {
	t *testing.T
	r *kernel.Router
}

func (k kernelProxy) fromClient(b []byte) (toClient, toServer [][]byte) {
	f, err := k.r.Send(b)
	if err != nil {
		k.t.Fatal(err)
	}
	return f.Replies, f.Emitted
}

func (k kernelProxy) fromServer(b []byte) (toClient, toServer [][]byte) {
	f, err := k.r.SendOut(b)
	if err != nil {
		k.t.Fatal(err)
	}
	return f.Replies, f.Emitted
}

// stats sums /proc/net/stat/synproxy's columns over the CPUs.
func (k kernelProxy) stats() synproxy.Stats {
	out, err := k.r.Exec("cat /proc/net/stat/synproxy", nil)
	if err != nil {
		k.t.Fatalf("/proc/net/stat/synproxy: %v: %s", err, out)
	}
	var n [6]uint64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		for i, f := range strings.Fields(line) {
			v, err := strconv.ParseUint(f, 16, 32)
			if err != nil || i >= len(n) {
				k.t.Fatalf("/proc/net/stat/synproxy line %q", line)
			}
			n[i] += v
		}
	}
	return synproxy.Stats{SYNReceived: n[1], CookieInvalid: n[2], CookieValid: n[3], CookieRetrans: n[4], ConnReopened: n[5]}
}

// engineProxy is nfgo's Path on a host shaped like kernel.Router: the
// client side on eth0, everything else out of eth1.
type engineProxy struct {
	e   *nfgo.Engine
	now time.Time
}

var proxyHost = nfgo.Host{
	Interfaces: []nfgo.Interface{{Name: "eth0", Addrs: []netip.Prefix{
		netip.MustParsePrefix(kernel.RouterAddr4 + "/24"), netip.MustParsePrefix(kernel.RouterAddr6 + "/64"),
	}}},
	Routes: []nfgo.Route{
		{Dst: netip.MustParsePrefix("192.0.2.0/24"), Out: "eth0"},
		{Dst: netip.MustParsePrefix("2001:db8::/64"), Out: "eth0"},
	},
	DefaultOut: "eth1",
}

func newEngineProxy(t *testing.T, rules string) *engineProxy {
	e := nfgo.New(nfgo.Config{Host: proxyHost, Conntrack: conntrack.Config{TCP: conntrack.TCPConfig{NoLoose: true}}})
	for _, f := range []packet.Family{packet.IPv4, packet.IPv6} {
		rs, err := iptables.Parse(strings.NewReader(rules), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
	}
	// A clock whose milliseconds are far from the test's timestamps.
	return &engineProxy{e: e, now: time.UnixMilli(400<<32 + 0x50000000)}
}

func (n *engineProxy) judge(b []byte, in string) (toClient, toServer [][]byte) {
	var p packet.Packet
	p.Decode(append([]byte(nil), b...))
	v := n.e.Path(&p, nfgo.Meta{In: in, Time: n.now})
	n.now = n.now.Add(time.Millisecond)
	route := func(b []byte, out string) {
		if out == "eth0" {
			toClient = append(toClient, b)
		} else {
			toServer = append(toServer, b)
		}
	}
	for _, e := range v.Effects {
		if e.Kind == filter.EffectSend {
			var q packet.Packet
			q.Decode(e.Packet)
			route(e.Packet, proxyHostRoute(q.Dst()))
		}
	}
	if v.Action == filter.Accept {
		route(p.Bytes(), v.Out)
	}
	return toClient, toServer
}

func proxyHostRoute(dst netip.Addr) string {
	for _, r := range proxyHost.Routes {
		if r.Dst.Contains(dst) {
			return r.Out
		}
	}
	return proxyHost.DefaultOut
}

func (n *engineProxy) fromClient(b []byte) (toClient, toServer [][]byte) { return n.judge(b, "eth0") }
func (n *engineProxy) fromServer(b []byte) (toClient, toServer [][]byte) { return n.judge(b, "eth1") }
func (n *engineProxy) stats() synproxy.Stats                             { return n.e.SYNProxyStats() }

// step is one packet of a scenario and what the router sent for it, in
// a form two routers can be compared in: their cookies and clocks
// differ, so sequence numbers near the cookie and timestamps near the
// cookie's are rewritten relative to them (normalize).
type step struct {
	name               string
	toClient, toServer [][]byte
}

// The timestamps the test's hosts send: far from each other and from
// the routers' clocks.
const (
	clientTS = 0x70000000
	serverTS = 0xb0000000
)

// proxied plays a client and a server through the router: handshake,
// data both ways, the client's FIN. With ts the client offers
// timestamps (and so window scaling and SACK); without, only its MSS.
func proxied(t *testing.T, r proxyRouter, src, dst netip.Addr, port uint16, ts bool) []step {
	const cISN, sISN = 0x11110000, 0x22220000
	var steps []step
	seg := func(flags string, seq, ack uint32, win uint16, opts []byte, payload string) testpkt.Spec {
		return testpkt.Spec{Src: src, Dst: dst, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: flags, Seq: seq, Ack: ack, Window: win, TCPOptions: opts, Payload: []byte(payload)}
	}
	reply := func(s testpkt.Spec) testpkt.Spec {
		s.Src, s.Dst, s.SrcPort, s.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
		return s
	}
	tsOpt := func(val, ecr uint32) []byte {
		if !ts {
			return nil
		}
		o := []byte{1, 1, 8, 10}
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(o, val), ecr)
	}
	send := func(name string, fromServer bool, s testpkt.Spec) step {
		st := play(r, name, fromServer, s)
		steps = append(steps, st)
		return st
	}
	synOpts := []byte{2, 4, 5, 0xb4}
	if ts {
		synOpts = append(append(synOpts, 4, 2), tsOpt(clientTS, 0)[2:]...)
		synOpts = append(synOpts, 1, 3, 3, 10)
	}
	st := send("client SYN", false, seg("S", cISN, 0, 64240, synOpts, ""))
	if len(st.toClient) != 1 {
		t.Fatalf("%v: %d packets back for the SYN", src, len(st.toClient))
	}
	sa := decodeTCP(t, st.toClient[0])
	cookie, cookieTS := sa.Seq, sa.TSVal
	if ts {
		// normalize needs the bases apart.
		s := uint32(serverTS)
		for _, v := range []uint32{clientTS, serverTS, s + s - cookieTS} {
			if d := int32(v - cookieTS); d > -1<<17 && d < 1<<17 {
				t.Fatalf("the router's clock (%#x) is too near the test's timestamps (%#x) to tell them apart", cookieTS, v)
			}
		}
	}
	send("client ACK", false, seg("A", cISN+1, cookie+1, 502, tsOpt(clientTS+1, cookieTS), ""))
	saOpts := []byte{2, 4, 5, 0xb4}
	if ts {
		saOpts = append(append(saOpts, 4, 2), tsOpt(serverTS, clientTS+1)[2:]...)
		saOpts = append(saOpts, 1, 3, 3, 10)
	}
	send("server SYN/ACK", true, reply(seg("SA", sISN, cISN+1, 65160, saOpts, "")))
	send("client data", false, seg("PA", cISN+1, cookie+1, 502, tsOpt(clientTS+2, cookieTS), "hello"))
	st = send("server data", true, reply(seg("PA", sISN+1, cISN+6, 509, tsOpt(serverTS+1, clientTS+2), "world")))
	if len(st.toClient) != 1 {
		t.Fatalf("%v: the server's data reached the client %d times", src, len(st.toClient))
	}
	data := decodeTCP(t, st.toClient[0])
	send("client FIN", false, seg("FA", cISN+6, data.Seq+5, 502, tsOpt(clientTS+3, data.TSVal), ""))
	return normalizeSteps(steps, cookie, cookieTS)
}

// unanswered plays the cases where the server does not complete the
// handshake: a forged cookie; a FIN nobody knows of (it falls through
// SYNPROXY to the DROP); a client that retransmits its ACK, then sends
// a keep-alive because the server stays silent (both re-send the SYN,
// the keep-alive's with the next MSS of the table, as the kernel's
// check one below the ISN makes it); the server refusing with a RST,
// which reaches the client in the cookie's sequence space.
func unanswered(t *testing.T, r proxyRouter, src, dst netip.Addr, port uint16, mss uint16) []step {
	const cISN = 0x33330000
	var steps []step
	seg := func(flags string, seq, ack uint32, opts []byte) testpkt.Spec {
		return testpkt.Spec{Src: src, Dst: dst, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: flags, Seq: seq, Ack: ack, Window: 502, TCPOptions: opts}
	}
	send := func(name string, fromServer bool, s testpkt.Spec) step {
		st := play(r, name, fromServer, s)
		steps = append(steps, st)
		return st
	}
	st := send("client SYN", false, seg("S", cISN, 0, []byte{2, 4, byte(mss >> 8), byte(mss)}))
	if len(st.toClient) != 1 {
		t.Fatalf("%v: %d packets back for the SYN", src, len(st.toClient))
	}
	cookie := decodeTCP(t, st.toClient[0]).Seq
	send("forged cookie", false, seg("A", cISN+1, cookie+1+1<<25, nil))
	send("unknown FIN", false, seg("FA", cISN+100, cookie+1, nil))
	send("client ACK", false, seg("A", cISN+1, cookie+1, nil))
	send("client ACK again", false, seg("A", cISN+1, cookie+1, nil))
	send("keep-alive", false, seg("A", cISN, cookie+1, nil))
	rst := seg("RA", 0, cISN+1, nil)
	rst.Src, rst.Dst, rst.SrcPort, rst.DstPort = rst.Dst, rst.Src, rst.DstPort, rst.SrcPort
	send("server RST", true, rst)
	return normalizeSteps(steps, cookie, 0)
}

// play sends one scenario packet into the router, from the client or
// from the server, and records what the router sent for it.
func play(r proxyRouter, name string, fromServer bool, s testpkt.Spec) step {
	b := testpkt.Build(s)
	st := step{name: name}
	if fromServer {
		st.toClient, st.toServer = r.fromServer(b)
	} else {
		st.toClient, st.toServer = r.fromClient(b)
	}
	return st
}

// normalizeSteps normalizes every packet of the steps (normalize).
func normalizeSteps(steps []step, cookie, cookieTS uint32) []step {
	for i := range steps {
		for _, side := range []*[][]byte{&steps[i].toClient, &steps[i].toServer} {
			for j, b := range *side {
				(*side)[j] = normalize(b, cookie, cookieTS)
			}
		}
	}
	return steps
}

// tcpSeg is what the scenarios read back from a segment.
type tcpSeg struct {
	Seq, Ack     uint32
	TSVal, TSEcr uint32
}

func decodeTCP(t *testing.T, b []byte) tcpSeg {
	t.Helper()
	var p packet.Packet
	p.Decode(append([]byte(nil), b...))
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 {
		t.Fatalf("not a TCP segment: % x", b)
	}
	o := synproxy.ParseOptions(p.L4()[20 : p.PayloadOff-p.L4Off])
	return tcpSeg{Seq: p.Seq, Ack: p.Ack, TSVal: o.TSVal, TSEcr: o.TSEcr}
}

// normalize rewrites a segment's secret- and clock-dependent numbers
// relative to what they derive from: a sequence or acknowledgment
// number within 2^16 of the cookie as 0xd0000000 plus the distance, a
// timestamp within 2^16 of the cookie's timestamp as 0xe0000000 plus
// the distance, and one within 2^16 of 2·serverTS − cookieTS (the
// kernel's double-translated echo in its ACK to the server) as
// 0xc0000000 plus the distance; the checksum follows.
func normalize(b []byte, cookie, cookieTS uint32) []byte {
	q := append([]byte(nil), b...)
	var p packet.Packet
	p.Decode(q)
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 {
		return q
	}
	near := func(v, base, mark uint32) (uint32, bool) {
		if d := int32(v - base); d > -1<<16 && d < 1<<16 {
			return mark + uint32(d), true
		}
		return v, false
	}
	seq := func(v uint32) uint32 { v, _ = near(v, cookie, 0xd0000000); return v }
	p.SetTCPSeqAck(seq(p.Seq), seq(p.Ack))
	o := synproxy.ParseOptions(p.L4()[20 : p.PayloadOff-p.L4Off])
	if o.Options&synproxy.OptTimestamp != 0 {
		tsv := func(v uint32) uint32 {
			if n, ok := near(v, cookieTS, 0xe0000000); ok {
				return n
			}
			s := uint32(serverTS)
			n, _ := near(v, s+s-cookieTS, 0xc0000000)
			return n
		}
		p.AddTCPTimestamps(tsv(o.TSVal)-o.TSVal, tsv(o.TSEcr)-o.TSEcr)
	}
	return q
}

// TestSYNPROXYMatchesKernel proxies whole connections through a kernel
// router and through nfgo's Path, both running synproxyRules, IPv4 and
// IPv6, with and without timestamps: every packet each sends toward the
// client and toward the server must be the same bytes once the cookie
// and the clocks are factored out (normalize): the SYN/ACK, the SYN to
// the server, the ACK to the server (with the kernel's doubly
// translated timestamp echo), the window update to the client, the
// sequence and timestamp translation of the data and of the FIN. The
// counters of /proc/net/stat/synproxy must move alike.
func TestSYNPROXYMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore")
	r := kernel.NewRouter(t, kernel.RouterOptions{LocalReplies: true, Conntrack: true})
	if out, err := r.Exec("sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0", nil); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, six := range []bool{false, true} {
		if err := r.Restore([]byte(synproxyRules), six); err != nil {
			t.Fatal(err)
		}
	}
	k := kernelProxy{t: t, r: r}
	n := newEngineProxy(t, synproxyRules)
	before := k.stats()
	port := uint16(42000)
	type scenario struct {
		name string
		run  func(r proxyRouter, src, dst netip.Addr, port uint16) []step
	}
	var scenarios []scenario
	for _, ts := range []bool{true, false} {
		scenarios = append(scenarios, scenario{fmt.Sprintf("timestamps=%v", ts), func(r proxyRouter, src, dst netip.Addr, port uint16) []step {
			return proxied(t, r, src, dst, port, ts)
		}})
	}
	for _, mss := range []uint16{1300, 1440} {
		scenarios = append(scenarios, scenario{fmt.Sprintf("unanswered mss=%d", mss), func(r proxyRouter, src, dst netip.Addr, port uint16) []step {
			return unanswered(t, r, src, dst, port, mss)
		}})
	}
	for _, fam := range []struct{ src, dst string }{{"192.0.2.77", "203.0.113.9"}, {"2001:db8::77", "2001:db8:77::9"}} {
		for _, sc := range scenarios {
			src, dst := netip.MustParseAddr(fam.src), netip.MustParseAddr(fam.dst)
			port++
			name := fam.src + " " + sc.name
			want := sc.run(k, src, dst, port)
			got := sc.run(n, src, dst, port)
			for i := range want {
				for _, side := range []struct {
					to        string
					got, want [][]byte
				}{{"client", got[i].toClient, want[i].toClient}, {"server", got[i].toServer, want[i].toServer}} {
					if len(side.got) != len(side.want) {
						t.Errorf("%s, %s: nfgo sent %d packets to the %s, the kernel %d", name, want[i].name, len(side.got), side.to, len(side.want))
						continue
					}
					for j := range side.want {
						if !bytes.Equal(side.got[j], side.want[j]) {
							t.Errorf("%s, %s: packet %d to the %s: nfgo\n% x\nthe kernel\n% x", name, want[i].name, j, side.to, side.got[j], side.want[j])
						}
					}
				}
			}
		}
	}
	after := k.stats()
	kd := synproxy.Stats{SYNReceived: after.SYNReceived - before.SYNReceived, CookieInvalid: after.CookieInvalid - before.CookieInvalid,
		CookieValid: after.CookieValid - before.CookieValid, CookieRetrans: after.CookieRetrans - before.CookieRetrans, ConnReopened: after.ConnReopened - before.ConnReopened}
	if got := n.stats(); got != kd || kd.SYNReceived == 0 {
		t.Errorf("counters: nfgo %+v, the kernel %+v", got, kd)
	}
}
