package synproxy

import (
	"bytes"
	"net/netip"
	"testing"
)

// SipHash-2-4's published test vectors (the paper's appendix): key
// 00…0f, messages 00…(n-1).
func TestSipHashVectors(t *testing.T) {
	var key [16]byte
	msg := make([]byte, 16)
	for i := range key {
		key[i] = byte(i)
		msg[i] = byte(i)
	}
	k0, k1 := le64(key[:8]), le64(key[8:])
	for _, tt := range []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{15, 0xa129ca6149be45e5},
	} {
		if got := sipHash24(k0, k1, msg[:tt.n]); got != tt.want {
			t.Errorf("SipHash of %d bytes: %#x, want %#x", tt.n, got, tt.want)
		}
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func TestCookies(t *testing.T) {
	k := NewCookiesWithKey([32]byte{1, 2, 3, 4, 5})
	f := Flow{Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("203.0.113.1"), SrcPort: 40000, DstPort: 80}
	const minute = 29_000_000
	c0, enc := k.Make(f, 1000, 1460, minute)
	if enc != 1460 {
		t.Errorf("MSS 1460 encoded as %d", enc)
	}
	// As observed on the kernel: the cookie moves with the ISN, and by
	// the change of MSS index for another MSS.
	if c, _ := k.Make(f, 1100, 1460, minute); c-c0 != 100 {
		t.Errorf("ISN + 100 moved the cookie by %d", int32(c-c0))
	}
	for _, tt := range []struct {
		mss, enc uint16
		delta    int32
	}{{536, 536, -3}, {0, 536, -3}, {1300, 1300, -2}, {1439, 1300, -2}, {1440, 1440, -1}, {9000, 1460, 0}} {
		c, e := k.Make(f, 1000, tt.mss, minute)
		if e != tt.enc || int32(c-c0) != tt.delta {
			t.Errorf("MSS %d: encoded %d, cookie moved %d; want %d, %d", tt.mss, e, int32(c-c0), tt.enc, tt.delta)
		}
	}
	// The ACK acknowledges cookie+1 with the ISN+1 as its sequence.
	for _, tt := range []struct {
		name       string
		flow       Flow
		seq, ack   uint32
		now        uint32
		ok         bool
		wantMSS    uint16
		forgeCheck bool
	}{
		{"the same minute", f, 1001, c0 + 1, minute, true, 1460, false},
		{"the next minute", f, 1001, c0 + 1, minute + 1, true, 1460, false},
		{"two minutes on", f, 1001, c0 + 1, minute + 2, false, 0, false},
		{"another port", Flow{Src: f.Src, Dst: f.Dst, SrcPort: 40001, DstPort: 80}, 1001, c0 + 1, minute, false, 0, true},
		{"another ISN", f, 1002, c0 + 1, minute, false, 0, true},
	} {
		mss, ok := k.Check(tt.flow, tt.seq, tt.ack, tt.now)
		if tt.forgeCheck {
			// A wrong flow gives an unrelated hash: with 24 bits, the
			// index lands in the table with odds of 4 in 2^24.
			if ok && mss == tt.wantMSS {
				t.Errorf("%s: accepted", tt.name)
			}
			continue
		}
		if ok != tt.ok || mss != tt.wantMSS {
			t.Errorf("%s: %d, %v; want %d, %v", tt.name, mss, ok, tt.wantMSS, tt.ok)
		}
	}
	// IPv6 has its own table.
	f6 := Flow{Src: netip.MustParseAddr("2001:db8::7"), Dst: netip.MustParseAddr("2001:db8::1"), SrcPort: 1, DstPort: 443}
	c6, enc6 := k.Make(f6, 7, 9000, minute)
	if enc6 != 8940 {
		t.Errorf("IPv6 MSS 9000 encoded as %d, want 8940", enc6)
	}
	if mss, ok := k.Check(f6, 8, c6+1, minute); !ok || mss != 8940 {
		t.Errorf("IPv6 check: %d, %v", mss, ok)
	}
	if n := testing.AllocsPerRun(100, func() { k.Check(f, 1001, c0+1, minute) }); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}

func TestOptions(t *testing.T) {
	ts := []byte{8, 10, 0, 0, 0, 9, 0, 0, 0, 0}
	for _, tt := range []struct {
		name string
		opts []byte
		want Options
	}{
		{"Linux SYN", append(append([]byte{2, 4, 5, 0xb4, 4, 2}, ts...), 1, 3, 3, 10),
			Options{Options: OptMSS | OptSACKPerm | OptTimestamp | OptWScale, MSS: 1460, WScale: 10, TSVal: 9}},
		{"window scale capped at 14", []byte{3, 3, 20, 0}, Options{Options: OptWScale, WScale: 14}},
		{"end of list stops", []byte{2, 4, 5, 0xb4, 0, 4, 2}, Options{Options: OptMSS, MSS: 1460}},
		{"wrong length skipped", []byte{2, 5, 1, 2, 3, 4, 2}, Options{Options: OptSACKPerm}},
		{"malformed length stops", []byte{4, 2, 2, 1, 5, 0xb4}, Options{Options: OptSACKPerm}},
		{"too long stops", []byte{4, 2, 2, 9, 5, 0xb4}, Options{Options: OptSACKPerm}},
		{"repeated: the last wins", []byte{2, 4, 1, 0, 2, 4, 2, 0}, Options{Options: OptMSS, MSS: 512}},
	} {
		if got := ParseOptions(tt.opts); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// The kernel's answer to a Linux client (WS 10, SACK) under
	// --sack-perm --timestamp --wscale 7 --mss 1460: the timestamp's low
	// bits 26, and MSS, SACK with the timestamps, NOP and the scale.
	o := ParseOptions(append(append([]byte{2, 4, 5, 0xb4, 4, 2}, ts...), 1, 3, 3, 10))
	o.MSS = 1460
	o.InitTimestampCookie(7, 123456789)
	if o.TSVal&0x3f != 26 || o.TSEcr != 9 || o.TSVal&^0x3f != 123456789&^0x3f {
		t.Errorf("timestamp cookie %#x (echo %d)", o.TSVal, o.TSEcr)
	}
	want := append(append([]byte{2, 4, 5, 0xb4, 4, 2, 8, 10}, appendBE32(appendBE32(nil, o.TSVal), 9)...), 1, 3, 3, 7)
	if got := o.Build(nil); !bytes.Equal(got, want) || o.Size() != len(want) {
		t.Errorf("options % x (size %d), want % x", got, o.Size(), want)
	}
	// The client's ACK echoes it back.
	ack := Options{Options: OptTimestamp, TSEcr: o.TSVal}
	ack.CheckTimestampCookie()
	if ack.Options != OptTimestamp|OptWScale|OptSACKPerm || ack.WScale != 10 {
		t.Errorf("decoded %+v", ack)
	}
	// Without a window scale the low bits say 0xf.
	none := Options{Options: OptTimestamp}
	none.InitTimestampCookie(7, 0)
	none.TSEcr = none.TSVal
	none.CheckTimestampCookie()
	if none.Options&OptWScale != 0 {
		t.Errorf("no window scale decoded as %+v", none)
	}
	if got := (&Options{Options: OptSACKPerm | OptWScale, WScale: 2}).Build(nil); !bytes.Equal(got, []byte{1, 1, 4, 2, 1, 3, 3, 2}) {
		t.Errorf("SACK without timestamps: % x", got)
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 10})
	f.Add([]byte{1, 1, 0, 2})
	f.Add([]byte{3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		o := ParseOptions(b)
		if o.WScale > maxWScale {
			t.Errorf("window scale %d", o.WScale)
		}
		if n := len(o.Build(nil)); n != o.Size() || n > 24 {
			t.Errorf("built %d bytes, Size %d", n, o.Size())
		}
	})
}
