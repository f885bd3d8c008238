package helpers

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// The Amanda connection in these tests: the backup server 10.0.0.5
// asks the client 203.0.113.5's amandad at UDP port 10080; the client's
// answers come back in the reply direction.

// amandaExp is the expectation of a TCP connection from the server to
// the client's port.
func amandaExp(port int) string {
	return "proto=6 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=" + itoa(port) +
		" mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535" +
		" master-src=10.0.0.5 master-dst=203.0.113.5 sport=40000 dport=10080 class=0 helper=amanda"
}

func TestAmandaAnswers(t *testing.T) {
	amanda := New(Config{}).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
	for _, tc := range []struct {
		name, msg string
		dir       conntrack.Dir
		ports     []int // expected, in the order they are registered
	}{
		{name: "DATA MESG INDEX", msg: "CONNECT DATA 50000 MESG 50001 INDEX 50002\n", dir: conntrack.Reply, ports: []int{50000, 50001, 50002}},
		{name: "with STATE", msg: "CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n", dir: conntrack.Reply, ports: []int{50000, 50001, 50002, 50003}},
		{name: "words in another order are registered DATA first", msg: "CONNECT INDEX 3 MESG 2 DATA 1\n", dir: conntrack.Reply, ports: []int{1, 2, 3}},
		{name: "CONNECT anywhere in the packet", msg: "OPTIONS features=ffff;\nCONNECT DATA 5000\n", dir: conntrack.Reply, ports: []int{5000}},
		{name: "a word inside another", msg: "CONNECT XDATA 7\n", dir: conntrack.Reply, ports: []int{7}},
		{name: "the first of two", msg: "CONNECT DATA 5 DATA 6\n", dir: conntrack.Reply, ports: []int{5}},
		{name: "CRLF", msg: "CONNECT DATA 12 MESG 13\r\n", dir: conntrack.Reply, ports: []int{12, 13}},
		{name: "a sixth digit is not read", msg: "CONNECT DATA 123456\n", dir: conntrack.Reply, ports: []int{12345}},
		{name: "a port wraps at 16 bits", msg: "CONNECT DATA 99999\n", dir: conntrack.Reply, ports: []int{34463}},
		{name: "digits end at the first other byte", msg: "CONNECT DATA 12x4 MESG 9\n", dir: conntrack.Reply, ports: []int{12, 9}},
		{name: "port 65536 is 0 and ends the search", msg: "CONNECT DATA 65536 MESG 5\n", dir: conntrack.Reply},
		{name: "a port of 0 ends the search for the words after it", msg: "CONNECT MESG 0 DATA 7 INDEX 8\n", dir: conntrack.Reply, ports: []int{7}},
		{name: "no digits is port 0", msg: "CONNECT DATA x MESG 5\n", dir: conntrack.Reply},
		{name: "a word with no room for digits before the newline", msg: "CONNECT DATA \nMESG 5\n", dir: conntrack.Reply},
		{name: "words after the newline are not read", msg: "CONNECT DATA 5\nMESG 6\n", dir: conntrack.Reply, ports: []int{5}},
		{name: "words before CONNECT are not read", msg: "DATA 5 CONNECT MESG 6\n", dir: conntrack.Reply, ports: []int{6}},
		{name: "no newline", msg: "CONNECT DATA 5 MESG 6", dir: conntrack.Reply},
		{name: "CONNECT without its space", msg: "CONNECTDATA 5\n", dir: conntrack.Reply},
		{name: "lower case", msg: "connect data 5\n", dir: conntrack.Reply},
		{name: "a word without its space", msg: "CONNECT DATA5\n", dir: conntrack.Reply},
		{name: "the server's direction is not read", msg: "CONNECT DATA 5\n", dir: conntrack.Original},
		{name: "an empty datagram", msg: "", dir: conntrack.Reply},
		{name: "a NUL in the middle is text too", msg: "CONNECT \x00 DATA 9\n", dir: conntrack.Reply, ports: []int{9}},
	} {
		c := newConn(t, amanda, "udp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 10080)
		v, p := c.send(tc.dir, tc.msg)
		if v.Drop {
			t.Errorf("%s: dropped: %s", tc.name, v.Reason)
		}
		if string(p.Payload()) != tc.msg {
			t.Errorf("%s: payload changed to %q without NAT", tc.name, p.Payload())
		}
		var want []string
		for _, port := range tc.ports {
			want = append(want, amandaExp(port))
		}
		if got := c.expected(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: expectations\n got %q\nwant %q", tc.name, got, want)
		}
	}
}

// The search runs to the IP length, past a UDP length that ends sooner,
// as the kernel's skb_find_text does.
func TestAmandaReadsPastAShortUDPLength(t *testing.T) {
	amanda := New(Config{}).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
	c := newConn(t, amanda, "udp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 10080)
	p := edited(c.pkt(conntrack.Reply, "", "CONNECT DATA 6000\n"), func(b []byte) []byte {
		binary.BigEndian.PutUint16(b[20+4:], uint16(8+len("CONNECT DATA")))
		return b
	})
	if v := c.sendPacket(conntrack.Reply, p, nil); v.Drop {
		t.Errorf("dropped: %s", v.Reason)
	}
	if got := c.expected(); len(got) != 1 || got[0] != amandaExp(6000) {
		t.Errorf("expectations %q, want the one of port 6000", got)
	}
}

func TestAmandaKeepsTheControlConnection(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{}, 300 * time.Second},
		{Config{AmandaMasterTimeout: 40 * time.Second}, 40 * time.Second},
	} {
		amanda := New(tc.cfg).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
		c := newConn(t, amanda, "udp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 10080)
		c.send(conntrack.Original, "Amanda 2.6 REQ HANDLE 000-00000000 SEQ 1\n")
		if got := c.timeout(); got != 30*time.Second {
			t.Errorf("after the server's request: timeout %v, want UDP's 30s", got)
		}
		// Any answer, even one naming no port, keeps the connection.
		c.send(conntrack.Reply, "Amanda 2.6 ACK HANDLE 000-00000000 SEQ 1\n")
		if got := c.timeout(); got != tc.want {
			t.Errorf("master_timeout %v: after an answer, timeout %v, want %v", tc.cfg.AmandaMasterTimeout, got, tc.want)
		}
	}
}

// Without NAT, a port another master expects already cannot be
// expected: the packet is dropped, but the other ports are still
// expected, since the kernel goes on with them.
func TestAmandaCannotExpect(t *testing.T) {
	amanda := New(Config{}).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
	c := newConn(t, amanda, "udp", a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5"), 10080)
	takePort(t, c, 50000)
	v, _ := c.send(conntrack.Reply, "CONNECT DATA 50000 MESG 50001\n")
	if !v.Drop || v.Reason != "cannot add expectation" {
		t.Errorf("verdict %+v, want drop: cannot add expectation", v)
	}
	got := c.expected()
	if len(got) != 2 || !strings.Contains(got[0], "dport=50000 ") || got[1] != amandaExp(50001) {
		t.Errorf("expectations %q, want the other master's and MESG's", got)
	}
}

// fixedRand makes the NAT helper's port search pick the middle of the
// range above the port asked for.
func fixedRand() uint32 { return 1 << 31 }

func TestAmandaNATRewrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		taken  []uint16 // ports another master expects
		rand   func() uint32
		msg    string
		want   string // what leaves
		drop   string
		saved  []uint16 // the expectations' saved ports, in order
		ported []uint16 // and the ports expected
	}{
		{name: "ports free: the same text", msg: "CONNECT DATA 50000 MESG 50001 INDEX 50002\n", want: "CONNECT DATA 50000 MESG 50001 INDEX 50002\n",
			saved: []uint16{50000, 50001, 50002}, ported: []uint16{50000, 50001, 50002}},
		// 50000 + (65535-50000)/2 = 57767.
		{name: "a port taken", taken: []uint16{50000}, rand: fixedRand, msg: "CONNECT DATA 50000 MESG 50001\n", want: "CONNECT DATA 57767 MESG 50001\n",
			saved: []uint16{50000, 50001}, ported: []uint16{57767, 50001}},
		// Leading zeros go: the packet shrinks, and MESG is still found
		// before the newline's old place.
		{name: "leading zeros", msg: "CONNECT DATA 00080 MESG 00081\n", want: "CONNECT DATA 80 MESG 81\n",
			saved: []uint16{80, 81}, ported: []uint16{80, 81}},
		// 5 + (65535-5)/2 = 32770: the packet grows by 4 bytes, and the
		// search for the next words still ends where the newline was,
		// now inside "MESG ", as the kernel's does: MESG is not seen.
		{name: "a longer port hides the words after it", taken: []uint16{5}, rand: fixedRand, msg: "CONNECT DATA 5 MESG 6\n", want: "CONNECT DATA 32770 MESG 6\n",
			saved: []uint16{5}, ported: []uint16{32770}},
		// Every port tried clashes: DATA fails, but MESG's success is
		// the verdict, as the kernel's ret is overwritten.
		{name: "all ports in use, then a success", taken: []uint16{50000}, rand: func() uint32 { return 0 }, msg: "CONNECT DATA 50000 MESG 50001\n",
			want: "CONNECT DATA 50000 MESG 50001\n", saved: []uint16{50001}, ported: []uint16{50001}},
		{name: "a success, then all ports in use", taken: []uint16{50001}, rand: func() uint32 { return 0 }, msg: "CONNECT DATA 50000 MESG 50001\n",
			drop: "all ports in use", saved: []uint16{50000}, ported: []uint16{50000}},
	} {
		amanda := New(Config{Rand: tc.rand}).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
		c := newConn(t, amanda, "udp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), 10080)
		for _, port := range tc.taken {
			takePort(t, c, port)
		}
		v, p := c.send(conntrack.Reply, tc.msg)
		if v.Drop != (tc.drop != "") || v.Reason != tc.drop {
			t.Errorf("%s: verdict %+v, want drop %q", tc.name, v, tc.drop)
		}
		if !v.Drop {
			if got := string(p.Payload()); got != tc.want {
				t.Errorf("%s: the server gets %q, want %q", tc.name, got, tc.want)
			}
			if !p.L4ChecksumOK() || !p.IPv4HeaderChecksumOK() {
				t.Errorf("%s: bad checksum after the rewrite", tc.name)
			}
		}
		var saved, ported []uint16
		for _, e := range c.tb.MasterExpectations(c.origTuple(), t0) {
			if e.Fn != conntrack.ExpectFollowMaster || e.Dir != conntrack.Original || e.Tuple.SrcAddr() != a("10.0.0.5") || e.Tuple.DstAddr() != a("203.0.113.5") {
				t.Errorf("%s: expectation %v, want from the server to the client, following the master", tc.name, e)
			}
			saved, ported = append(saved, e.SavedPort), append(ported, e.Tuple.DstPort)
		}
		if itoas(saved) != itoas(tc.saved) || itoas(ported) != itoas(tc.ported) {
			t.Errorf("%s: saved ports %v expected at %v, want %v at %v", tc.name, saved, ported, tc.saved, tc.ported)
		}
	}
}

func itoas(ports []uint16) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString(itoa(int(p)) + " ")
	}
	return b.String()
}

// A UDP checksum of 0 (none) stays 0 through a rewrite.
func TestAmandaNATKeepsNoChecksum(t *testing.T) {
	amanda := New(Config{}).Lookup("amanda", packet.IPv4, packet.ProtoUDP)
	c := newConn(t, amanda, "udp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), 10080)
	p := edited(c.pkt(conntrack.Reply, "", "CONNECT DATA 00080\n"), func(b []byte) []byte {
		b[20+6], b[20+7] = 0, 0
		return b
	})
	if v := c.sendPacket(conntrack.Reply, p, nil); v.Drop {
		t.Fatalf("dropped: %s", v.Reason)
	}
	if got := string(p.Payload()); got != "CONNECT DATA 80\n" || binary.BigEndian.Uint16(p.L4()[6:]) != 0 {
		t.Errorf("got %q with checksum %#x, want the rewrite with no checksum", got, binary.BigEndian.Uint16(p.L4()[6:]))
	}
}

func TestAmandaIPv6(t *testing.T) {
	amanda := New(Config{}).Lookup("amanda", packet.IPv6, packet.ProtoUDP)
	c := newConn(t, amanda, "udp", a("2001:db8::5"), a("2001:db8::5"), a("2001:db8:1::5"), 10080)
	c.send(conntrack.Reply, "CONNECT DATA 50000\n")
	want := "proto=6 src=2001:db8::5 dst=2001:db8:1::5 sport=0 dport=50000 "
	if got := c.expected(); len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("expectations %q, want one starting %q", got, want)
	}
}
