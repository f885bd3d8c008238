package ctsync

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// goldens reads the messages captured from conntrackd, by name.
func goldens(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/conntrackd-1.4.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		msgs[name] = b
	}
	return msgs
}

func TestGoldensDecodeAndEncodeByteForByte(t *testing.T) {
	msgs := goldens(t)
	tests := []struct {
		name, orig, reply string
		typ               MsgType
		status            conntrack.Status
		state             conntrack.TCPState
		sctp              conntrack.SCTPState
		vtag              [2]uint32
		timeout, mark     uint32
		zone              uint16
	}{
		{name: "tcp-snat-port", typ: TypeNew, orig: "src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80",
			reply: "src=198.51.100.20 dst=203.0.113.5 sport=80 dport=61000", status: 0x19e, state: conntrack.TCPEstablished, timeout: 300, mark: 42},
		{name: "tcp-dnat-zone", typ: TypeNew, orig: "src=192.0.2.13 dst=198.51.100.23 sport=40001 dport=8080",
			reply: "src=10.0.0.5 dst=192.0.2.13 sport=80 dport=40001", status: 0x1a8, state: conntrack.TCPSynSent, timeout: 100, zone: 7},
		{name: "udp6-snat", typ: TypeNew, orig: "src=2001:db8::1 dst=2001:db8:1::2 sport=5000 dport=53",
			reply: "src=2001:db8:1::2 dst=2001:db8:ff::1 sport=53 dport=5000", status: 0x198, timeout: 30},
		{name: "icmp-echo", typ: TypeNew, orig: "src=192.0.2.12 dst=198.51.100.22 type=8 code=0 id=4660",
			reply: "src=198.51.100.22 dst=192.0.2.12 type=0 code=0 id=4660", status: 0x8, timeout: 30},
		{name: "sctp-established", typ: TypeNew, orig: "src=192.0.2.14 dst=198.51.100.24 sport=3000 dport=3001",
			reply: "src=198.51.100.24 dst=192.0.2.14 sport=3001 dport=3000", status: 0x8, sctp: conntrack.SCTPEstablished, vtag: [2]uint32{11, 22}, timeout: 30},
		// Captured in another run, where the connection was SNATed to
		// an address only, so its reply keeps the original port.
		{name: "del-tcp-snat", typ: TypeDelete, orig: "src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80",
			reply: "src=198.51.100.20 dst=203.0.113.5 sport=80 dport=40000", status: 0x19e, state: conntrack.TCPEstablished, timeout: 300, mark: 42},
		{name: "del-udp", typ: TypeDelete, orig: "src=192.0.2.11 dst=198.51.100.21 sport=5353 dport=53",
			reply: "src=198.51.100.21 dst=192.0.2.11 sport=53 dport=5353", status: 0x8, timeout: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := msgs[tt.name]
			h, c, err := DecodeConn(msg)
			if err != nil {
				t.Fatal(err)
			}
			if h.Type != tt.typ || h.Flags != FlagHello {
				t.Errorf("type %v flags %#x, want %v and HELLO (no HELLO_BACK yet)", h.Type, h.Flags, tt.typ)
			}
			if got := c.Orig.String(); got != tt.orig {
				t.Errorf("original %s, want %s", got, tt.orig)
			}
			if r, _ := c.Reply(); r.String() != tt.reply {
				t.Errorf("reply %s, want %s", r.String(), tt.reply)
			}
			if c.Status != tt.status || c.TCPState != tt.state || c.SCTPState != tt.sctp || c.VTag != tt.vtag {
				t.Errorf("status %#x TCP %v SCTP %v tags %v, want %#x %v %v %v", uint32(c.Status), c.TCPState, c.SCTPState, c.VTag,
					uint32(tt.status), tt.state, tt.sctp, tt.vtag)
			}
			if c.Timeout != tt.timeout || c.Mark != tt.mark || c.Orig.Zone != tt.zone {
				t.Errorf("timeout %d mark %d zone %d, want %d %d %d", c.Timeout, c.Mark, c.Orig.Zone, tt.timeout, tt.mark, tt.zone)
			}
			if again := AppendConn(nil, h.Type, h.Flags, h.Seq, &c, Latest); !bytes.Equal(again, msg) {
				t.Errorf("encodes as\n% x\nwant\n% x", again, msg)
			}
		})
	}
}

func TestGoldenAliveCarriesHelloUntilAnswered(t *testing.T) {
	h, err := ParseHeader(goldens(t)["alive-hello"])
	if err != nil {
		t.Fatal(err)
	}
	if h.Type != TypeControl || h.Flags != FlagAlive|FlagHello || h.Len != HeaderLen {
		t.Errorf("got %v flags %#x len %d, want CTL ALIVE|HELLO 8", h.Type, h.Flags, h.Len)
	}
	if got := AppendControl(nil, h.Flags, h.Seq, 0, 0); !bytes.Equal(got, goldens(t)["alive-hello"]) {
		t.Errorf("encodes as % x", got)
	}
}

func TestControlMessagesCarryTheirRange(t *testing.T) {
	for _, f := range []Flags{FlagACK, FlagNACK, FlagResync, FlagACK | FlagHelloBack} {
		b := AppendControl(nil, f, 7, 100, 200)
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("%#x: %v", f, err)
		}
		if len(b) != RangeHeaderLen || h.From != 100 || h.To != 200 || h.Flags != f || h.Seq != 7 {
			t.Errorf("%#x: %d bytes, %+v", f, len(b), h)
		}
	}
	if b := AppendControl(nil, FlagAlive, 7, 100, 200); len(b) != HeaderLen {
		t.Errorf("ALIVE is %d bytes, want %d", len(b), HeaderLen)
	}
}

// TestDecodeRefusesWhatConntrackdRefuses: msg2ct refuses a whole message
// for one bad attribute.
func TestDecodeRefusesWhatConntrackdRefuses(t *testing.T) {
	good := goldens(t)["tcp-snat-port"]
	with := func(edit func(b []byte) []byte) []byte { return edit(bytes.Clone(good)) }
	// The first attribute (IPV4) starts at 8; STATUS at 20.
	tests := []struct {
		name string
		msg  []byte
	}{
		{"short header", good[:7]},
		{"version 2", with(func(b []byte) []byte { b[0] = 0x20; return b })},
		{"length beyond the datagram", with(func(b []byte) []byte { return b[:len(b)-4] })},
		{"length shorter than the header", with(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 4); return b })},
		{"unknown attribute id 33", with(func(b []byte) []byte { binary.BigEndian.PutUint16(b[22:], 33); return b })},
		{"status of 3 bytes", with(func(b []byte) []byte { binary.BigEndian.PutUint16(b[20:], 7); return b })},
		{"attribute longer than the message", with(func(b []byte) []byte { binary.BigEndian.PutUint16(b[20:], 200); return b })},
		{"attribute length below its header", with(func(b []byte) []byte { binary.BigEndian.PutUint16(b[20:], 3); return b })},
		{"expectation type", with(func(b []byte) []byte { b[0] = 0x13; return b })},
		{"unknown type 7", with(func(b []byte) []byte { b[0] = 0x17; return b })},
		{"no addresses", AppendConn(nil, TypeNew, 0, 1, &Conn{Attrs: 1 << AttrL4Proto}, Latest)},
		{"no protocol", AppendConn(nil, TypeNew, 0, 1, &Conn{Attrs: 1 << AttrIPv4}, Latest)},
		{"IPv6 NAT on IPv4", AppendConn(nil, TypeNew, 0, 1, &Conn{Attrs: 1<<AttrIPv4 | 1<<AttrL4Proto | 1<<AttrSNATIPv6, SNATAddr: netip.IPv6Loopback()}, Latest)},
		{"helper name too long", helperMsg("abcdefghijkl")},
		{"label 200", labelsMsg(7, 1<<8)},
	}
	for _, tt := range tests {
		if _, _, err := DecodeConn(tt.msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", tt.name, err)
		}
	}
}

func helperMsg(name string) []byte {
	b := AppendConn(nil, TypeNew, 0, 1, &Conn{Attrs: 1<<AttrIPv4 | 1<<AttrL4Proto}, Latest)
	b = append(b, 0, byte(4+len(name)+1), 0, byte(AttrHelperName))
	b = append(append(b, name...), 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// labelsMsg appends a labels attribute of words words, the last one
// holding last.
func labelsMsg(words int, last uint32) []byte {
	b := AppendConn(nil, TypeNew, 0, 1, &Conn{Attrs: 1<<AttrIPv4 | 1<<AttrL4Proto}, Latest)
	b = append(b, 0, byte(4+4*words), 0, byte(AttrLabels))
	for i := range words {
		w := uint32(0)
		if i == words-1 {
			w = last
		}
		b = binary.BigEndian.AppendUint32(b, w)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

func TestDecodeTakesWhatConntrackdTakes(t *testing.T) {
	// A helper name of the largest size conntrackd takes, and labels
	// sent in more words than the kernel has, with the extra ones zero.
	if _, c, err := DecodeConn(helperMsg("abcdefghij")); err != nil || c.Helper != "abcdefghij" {
		t.Errorf("helper: %q, %v", c.Helper, err)
	}
	_, c, err := DecodeConn(labelsMsg(8, 0))
	if err != nil || !c.Attrs.Has(AttrLabels) {
		t.Errorf("zero words past 128: %v", err)
	}
	_, c, err = DecodeConn(labelsMsg(4, 1<<31))
	if err != nil || c.Labels != [2]uint64{0, 1 << 63} {
		t.Errorf("label 127: %x, %v", c.Labels, err)
	}
	// Up to four bytes after the last attribute are ignored, as
	// msg2ct's loop stops when no attribute header fits.
	b := append(bytes.Clone(goldens(t)["icmp-echo"]), 0, 0, 0, 0)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	if _, _, err := DecodeConn(b); err != nil {
		t.Errorf("trailing 4 bytes: %v", err)
	}
}

func TestFromConnRoundTrips(t *testing.T) {
	orig := tuple4(packet.ProtoTCP, "192.0.2.1", "198.51.100.1", 1000, 80)
	reply := tuple4(packet.ProtoTCP, "10.0.0.9", "203.0.113.1", 8080, 2000)
	master := tuple4(packet.ProtoTCP, "192.0.2.1", "198.51.100.1", 999, 21)
	k := conntrack.Conn{
		Orig: orig, Reply: reply, TCPState: conntrack.TCPEstablished, Timeout: 90 * time.Second, Mark: 5,
		Status: conntrack.StatusConfirmed | conntrack.StatusSrcNAT | conntrack.StatusDstNAT | conntrack.StatusAssured | conntrack.StatusDying,
		Labels: [2]uint64{1, 1 << 40},
	}
	adj := [2]conntrack.SeqAdj{{CorrectionPos: 10, OffsetBefore: 0, OffsetAfter: -3}, {}}
	c := FromConn(&k, master, adj, true, [2]uint8{7, 8})
	_, got, err := DecodeConn(AppendConn(nil, TypeUpdate, 0, 9, &c, Latest))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := got.Reply(); r != reply {
		t.Errorf("reply %v, want %v", r, reply)
	}
	if got.Master != master || got.SeqAdj != adj || got.WScale != [2]uint8{7, 8} || got.Labels != k.Labels || got.Mark != 5 || got.Timeout != 90 {
		t.Errorf("got %+v", got)
	}
	if got.Status&conntrack.StatusDying != 0 {
		t.Errorf("status %v carries DYING", got.Status)
	}
}

func TestOlderPeersGetNoNewerAttributes(t *testing.T) {
	k := conntrack.Conn{Orig: tuple4(packet.ProtoUDP, "192.0.2.1", "198.51.100.1", 1, 2), Labels: [2]uint64{1}}
	k.Orig.Zone = 3
	k.Reply, _ = k.Orig.Invert()
	c := FromConn(&k, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
	old := Release{1, 4, 1}
	if got := c.Unsent(old); got != 1<<AttrLabels|1<<AttrZone {
		t.Errorf("unsent to 1.4.1: %b", got)
	}
	_, d, err := DecodeConn(AppendConn(nil, TypeNew, 0, 1, &c, old))
	if err != nil || d.Attrs.Has(AttrZone) || d.Attrs.Has(AttrLabels) {
		t.Errorf("1.4.1 message: %b, %v", d.Attrs, err)
	}
	if got := c.Unsent(Latest); got != 0 {
		t.Errorf("unsent to %v: %b", Latest, got)
	}
}

func TestAfterWrapsAround(t *testing.T) {
	for _, tt := range []struct {
		a, b uint32
		want bool
	}{{2, 1, true}, {1, 2, false}, {0, 0xffffffff, true}, {0xffffffff, 0, false}, {5, 5, false}} {
		if got := After(tt.a, tt.b); got != tt.want {
			t.Errorf("After(%d, %d) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func tuple4(proto uint8, src, dst string, sport, dport uint16) conntrack.Tuple {
	return conntrack.Tuple{Family: packet.IPv4, Proto: proto, Src: addr16(netip.MustParseAddr(src)), Dst: addr16(netip.MustParseAddr(dst)), SrcPort: sport, DstPort: dport}
}
