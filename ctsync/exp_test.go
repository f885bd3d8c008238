package ctsync

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// goldenExp is an EXP_NEW a stock conntrackd 1.4.7 sent for the
// expectation the kernel's FTP helper made for a passive data
// connection of an SNATed control connection
// (TestFailoverKeepsFTPRelated, kernel to nfgo).
func goldenExp(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/conntrackd-1.4.7-exp.hex")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

type ftpHelper struct{}

func (ftpHelper) Name() string { return "ftp" }
func (ftpHelper) Policy(uint8) conntrack.ExpectPolicy {
	return conntrack.ExpectPolicy{MaxExpected: 1, Timeout: 5 * time.Minute}
}

// TestDecodeConntrackdExpectation: conntrackd's message decodes to the
// expectation the kernel had, nfgo's encoder writes the same bytes, and
// an expectation built from nfgo's table encodes to that message too.
func TestDecodeConntrackdExpectation(t *testing.T) {
	msg := goldenExp(t)
	h, x, err := DecodeExp(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Type != TypeExpNew {
		t.Errorf("type %v, want EXP_NEW", h.Type)
	}
	for _, c := range []struct{ what, got, want string }{
		{"master", x.Master.String(), "src=10.1.0.2 dst=10.2.0.2 sport=54990 dport=21"},
		{"tuple", x.Tuple.String(), "src=10.1.0.2 dst=10.2.0.2 sport=0 dport=50067"},
		{"helper", x.Helper, "ftp"},
		{"fn", x.Fn, conntrack.ExpectFollowMaster},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.what, c.got, c.want)
		}
	}
	if x.Timeout != 300 || x.NATPort != 50067 || x.NATDir != 0 || x.NATProto != packet.ProtoTCP {
		t.Errorf("timeout %d NAT port %d dir %d proto %d", x.Timeout, x.NATPort, x.NATDir, x.NATProto)
	}
	if re := AppendExp(nil, h.Type, h.Flags, h.Seq, &x); !bytes.Equal(re, msg) {
		t.Errorf("re-encoded:\n%x\nconntrackd's:\n%x", re, msg)
	}
	helper := func(name string) (conntrack.Helper, bool) { return ftpHelper{}, name == "ftp" }
	e := x.ToExpectation(helper)
	if e.Mask != conntrack.ExpectAnySrcPort || e.SrcBits != 0 || e.SavedPort != 50067 || e.Dir != conntrack.Original || e.Helper == nil {
		t.Errorf("expectation %+v: want any source port, the saved port, the original direction, the helper", e)
	}
	// From nfgo's side: what the table holds encodes to the same bytes.
	e.Timeout = 300 * time.Second
	back := FromExpectation(&e)
	if re := AppendExp(nil, h.Type, h.Flags, h.Seq, &back); !bytes.Equal(re, msg) {
		t.Errorf("from the expectation:\n%x\nconntrackd's:\n%x", re, msg)
	}
}

// TestDecodeExpRefusesWhatConntrackdRefuses: an unknown attribute or a
// wrong size refuses the whole message.
func TestDecodeExpRefusesWhatConntrackdRefuses(t *testing.T) {
	msg := goldenExp(t)
	for _, c := range []struct {
		name string
		edit func([]byte)
	}{
		{"unknown attribute", func(b []byte) { b[HeaderLen+3] = byte(expAttrCount) }},
		{"wrong size", func(b []byte) { b[HeaderLen+1] = 16 }},
	} {
		b := bytes.Clone(msg)
		c.edit(b)
		if _, _, err := DecodeExp(b); err == nil {
			t.Errorf("%s: decoded", c.name)
		}
	}
}

func FuzzDecodeExp(f *testing.F) {
	f.Add(goldenExp(f))
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, x, err := DecodeExp(msg)
		if err != nil {
			return
		}
		// What decodes re-encodes and decodes to the same.
		_, y, err := DecodeExp(AppendExp(nil, h.Type, h.Flags, h.Seq, &x))
		if err != nil || y.Master != x.Master || y.Tuple != x.Tuple || y.Helper != x.Helper {
			t.Fatalf("re-decoded %+v, %v; want %+v", y, err, x)
		}
	})
}
