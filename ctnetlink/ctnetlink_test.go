package ctnetlink

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/helpers"
	"github.com/nfgo/nfgo/packet"
)

func tuple(src, dst string, proto uint8, sport, dport uint16) conntrack.Tuple {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	t := conntrack.Tuple{SrcPort: sport, DstPort: dport, Proto: proto, Family: packet.IPv4}
	if s.Is6() {
		t.Family = packet.IPv6
		t.Src, t.Dst = s.As16(), d.As16()
	} else {
		a, b := s.As4(), d.As4()
		copy(t.Src[:], a[:])
		copy(t.Dst[:], b[:])
	}
	return t
}

// snatConn is a TCP connection SNATed to 203.0.113.5:61000.
func snatConn() conntrack.Conn {
	return conntrack.Conn{
		Orig:     tuple("192.0.2.10", "198.51.100.20", packet.ProtoTCP, 40000, 80),
		Reply:    tuple("198.51.100.20", "203.0.113.5", packet.ProtoTCP, 80, 61000),
		Status:   conntrack.StatusConfirmed | conntrack.StatusSeenReply | conntrack.StatusAssured | conntrack.StatusSrcNAT | conntrack.StatusSrcNATDone,
		TCPState: conntrack.TCPEstablished, Timeout: 300 * time.Second, Mark: 42,
	}
}

// TestCreateCarriesBindingsNotTheReply: the create request's reply tuple
// is the inverse of the original, and the NAT binding rides in
// CTA_NAT_SRC; decoding the request gives back the original, the
// inverse, the state, the timeout and the mark.
func TestCreateCarriesBindingsNotTheReply(t *testing.T) {
	c := snatConn()
	msg, err := AppendCreate(nil, 1, &c)
	if err != nil {
		t.Fatal(err)
	}
	en, err := Decode(msg[nlmsgHdrLen:])
	if err != nil {
		t.Fatal(err)
	}
	got := en.Conn
	inv, _ := c.Orig.Invert()
	if got.Orig != c.Orig || got.Reply != inv {
		t.Errorf("tuples %v / %v, want %v / %v (the un-NATed inverse)", got.Orig, got.Reply, c.Orig, inv)
	}
	if got.TCPState != c.TCPState || got.Timeout != c.Timeout || got.Mark != c.Mark {
		t.Errorf("state %v timeout %v mark %d, want %v %v %d", got.TCPState, got.Timeout, got.Mark, c.TCPState, c.Timeout, c.Mark)
	}
	if got.Status&conntrack.StatusConfirmed == 0 || got.Status&(conntrack.StatusSrcNAT|conntrack.StatusSrcNATDone) != 0 {
		t.Errorf("status %v: want CONFIRMED and no NAT bits (the kernel sets those from the binding)", got.Status)
	}
	snat, dnat := Bindings(&c)
	if snat != netip.MustParseAddrPort("203.0.113.5:61000") || dnat.IsValid() {
		t.Errorf("bindings %v %v", snat, dnat)
	}
	found := false
	each(msg[nlmsgHdrLen+nfgenHdrLen:], func(typ uint16, d []byte) error {
		found = found || typ == ctaNATSrc
		return nil
	})
	if !found {
		t.Error("no CTA_NAT_SRC in the request")
	}
}

func FuzzDecode(f *testing.F) {
	c := snatConn()
	msg, _ := AppendCreate(nil, 1, &c)
	f.Add(msg[nlmsgHdrLen:])
	c.Orig = tuple("2001:db8::1", "2001:db8:1::2", packet.ProtoUDP, 5000, 53)
	c.Reply = tuple("2001:db8:1::2", "2001:db8::1", packet.ProtoUDP, 53, 5000)
	c.Orig.Zone, c.Reply.Zone = 7, 7
	msg, _ = AppendCreate(nil, 2, &c)
	f.Add(msg[nlmsgHdrLen:])
	f.Fuzz(func(t *testing.T, body []byte) {
		en, err := Decode(body)
		if err != nil {
			return
		}
		c := en.Conn
		// What decodes encodes again.
		if _, err := AppendCreate(nil, 1, &c); err != nil && c.Orig.Proto != packet.ProtoICMP && c.Orig.Proto != packet.ProtoICMPv6 {
			t.Fatalf("decoded %+v but cannot encode it: %v", c, err)
		}
	})
}

// TestExpectationEncodesAndDecodes: what AppendCreateExpectation writes,
// DecodeExpectation reads back: tuples, mask, timeout, class, flags,
// the NAT part, the function and the helper's name.
func TestExpectationEncodesAndDecodes(t *testing.T) {
	ftp := helpers.New(helpers.Config{}).Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	_, e := ftpMaster(ftp)
	e.Class, e.Flags = 1, conntrack.ExpectPermanent
	e.SrcBits = 24
	e.Mask = conntrack.ExpectAnySrcPort
	msg := AppendCreateExpectation(nil, 1, &e)
	got, err := DecodeExpectation(msg[nlmsgHdrLen:])
	if err != nil {
		t.Fatal(err)
	}
	x := got.Expectation
	if x.Tuple != e.Tuple || x.Master != e.Master || x.Mask != e.Mask || x.SrcBits != 24 || x.Class != 1 || x.Flags != e.Flags {
		t.Errorf("decoded %v master %v mask %v/%d class %d flags %v, want %v %v %v/24 1 %v", x.Tuple, x.Master, x.Mask, x.SrcBits, x.Class, x.Flags, e.Tuple, e.Master, e.Mask, e.Flags)
	}
	if x.Timeout != e.Timeout || x.Fn != e.Fn || x.Dir != e.Dir || x.SavedPort != e.SavedPort || got.Helper != "ftp" {
		t.Errorf("decoded timeout %v fn %q dir %v port %d helper %q, want %v %q %v %d ftp", x.Timeout, x.Fn, x.Dir, x.SavedPort, got.Helper, e.Timeout, e.Fn, e.Dir, e.SavedPort)
	}
	if _, err := DecodeExpectation(msg[nlmsgHdrLen : nlmsgHdrLen+nfgenHdrLen+8]); err == nil {
		t.Error("a truncated message decoded without error")
	}
}

func FuzzDecodeExpectation(f *testing.F) {
	ftp := helpers.New(helpers.Config{}).Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	_, e := ftpMaster(ftp)
	f.Add(AppendCreateExpectation(nil, 1, &e)[nlmsgHdrLen:])
	e.Tuple = tuple("2001:db8::1", "2001:db8:1::2", packet.ProtoUDP, 0, 69)
	e.Master = tuple("2001:db8::1", "2001:db8:1::2", packet.ProtoUDP, 5000, 69)
	e.SavedPort, e.Fn = 0, ""
	f.Add(AppendCreateExpectation(nil, 2, &e)[nlmsgHdrLen:])
	f.Fuzz(func(t *testing.T, body []byte) {
		en, err := DecodeExpectation(body)
		if err != nil {
			return
		}
		// What decodes encodes again, and after one round trip (which
		// gives a timeout of 0 its 1 s) the encoding is stable.
		x := en.Expectation
		var b [2][]byte
		for i := range 3 {
			enc := AppendCreateExpectation(nil, 1, &x)
			again, err := DecodeExpectation(enc[nlmsgHdrLen:])
			if err != nil {
				t.Fatalf("decoded %+v but its encoding does not decode: %v", x, err)
			}
			x = again.Expectation
			if i > 0 {
				b[i-1] = enc
			}
		}
		if !bytes.Equal(b[0], b[1]) {
			t.Fatalf("encoding of %+v is not stable", x)
		}
	})
}
