package packet

import (
	"bytes"
	"testing"
)

// FuzzDecode decodes arbitrary bytes and checks what must hold for any
// input: no panic, offsets inside the buffer, and rewrites that keep the
// checksums exactly as valid as they were.
func FuzzDecode(f *testing.F) {
	for _, tp := range corpus(f) {
		f.Add(tp.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		p.Decode(b)
		checkInvariants(t, "Decode", &p, b)
		okIP, okL4 := p.IPv4HeaderChecksumOK(), p.L4ChecksumOK()

		var inner Packet
		if p.Embedded(&inner) {
			checkInvariants(t, "Embedded", &inner, p.b[p.PayloadOff:p.Length])
		}
		var e Packet
		e.DecodeEmbedded(b)
		checkInvariants(t, "DecodeEmbedded", &e, b)

		checkRewrites(t, b, okIP, okL4)
		checkEmbeddedRewrite(t, b)
		checkComputeChecksums(t, b)
		checkReplies(t, &p)
	})
}

func checkInvariants(t *testing.T, op string, p *Packet, b []byte) {
	t.Helper()
	if p.Invalid >= numInvalid || p.Invalid.String() == "" {
		t.Fatalf("%s: Invalid = %d", op, p.Invalid)
	}
	if p.Length > len(b) || p.L4Off > p.Length || p.PayloadOff > p.Length {
		t.Fatalf("%s: Length %d, L4Off %d, PayloadOff %d past %d bytes", op, p.Length, p.L4Off, p.PayloadOff, len(b))
	}
	if p.L4Off != 0 && p.PayloadOff < p.L4Off {
		t.Fatalf("%s: PayloadOff %d before L4Off %d", op, p.PayloadOff, p.L4Off)
	}
	if p.Length == 0 && (p.L4Off != 0 || p.PayloadOff != 0) {
		t.Fatalf("%s: offsets %d, %d without an IP header", op, p.L4Off, p.PayloadOff)
	}
	if p.Invalid.L4() && (p.L4Off != 0 || p.Length == 0) {
		t.Fatalf("%s: %v with L4Off %d, Length %d", op, p.Invalid, p.L4Off, p.Length)
	}
	if p.Invalid != OK && !p.Invalid.L4() && p.Invalid != InvalidIPv6ExtHeader && p.Length != 0 {
		t.Fatalf("%s: %v with Length %d", op, p.Invalid, p.Length)
	}
	if p.Invalid == OK && p.Length == 0 {
		t.Fatalf("%s: ok with Length 0", op)
	}
	if p.Truncated && op == "Decode" {
		t.Fatalf("Decode set Truncated")
	}
	_, _ = p.Src(), p.Dst()
	if len(p.Bytes()) != p.Length {
		t.Fatalf("%s: len(Bytes()) = %d, Length %d", op, len(p.Bytes()), p.Length)
	}
	if l4 := p.L4(); (l4 == nil) != (p.L4Off == 0) {
		t.Fatalf("%s: L4() = %x with L4Off %d", op, l4, p.L4Off)
	}
	_ = p.Payload()
	_ = p.IsICMPError()
	for _, k := range []uint8{0, 1, 2, 3, 4, 5, 8, 30} {
		p.HasTCPOption(k)
	}
}

// checkRewrites applies every Set method to a copy of b and checks that the
// checksums are exactly as valid as before, and that decoding the result
// gives the fields the Set methods reported.
func checkRewrites(t *testing.T, b []byte, okIP, okL4 bool) {
	c := bytes.Clone(b)
	var q Packet
	q.Decode(c)
	check := func(op string, ok bool) {
		t.Helper()
		if !ok {
			return
		}
		if q.IPv4HeaderChecksumOK() != okIP || q.L4ChecksumOK() != okL4 {
			t.Fatalf("%s: checksums ok went from %v, %v to %v, %v", op, okIP, okL4, q.IPv4HeaderChecksumOK(), q.L4ChecksumOK())
		}
	}
	src, dst := addrN4, addrR4
	if q.Family == IPv6 {
		src, dst = addrN6, addrR6
	}
	check("SetSrc", q.SetSrc(src))
	check("SetDst", q.SetDst(dst))
	check("SetSrcPort", q.SetSrcPort(q.SrcPort^0x5a5a))
	check("SetDstPort", q.SetDstPort(q.DstPort+1))
	check("SetICMPID", q.SetICMPID(q.ICMPID^0xffff))
	check("SetTCPMSS", q.SetTCPMSS(q.TCPOptions.MSS^0x0f0f))
	q.SetTTL(q.TTL - 1)
	check("SetTTL", q.Length != 0)
	q.SetTOS(q.TOS ^ 0xa5)
	check("SetTOS", q.Length != 0)

	if !bytes.Equal(c, b) && !q.Modified {
		t.Fatal("the Set methods changed the bytes but did not set Modified")
	}
	var r Packet
	r.Decode(c)
	r.Modified = q.Modified // Decode clears it
	if d := diffPackets(&r, &q); d != "" {
		t.Fatalf("decoding the rewritten packet disagrees with what the Set methods reported:%s", d)
	}
	if q.Invalid == OK && (r.Src() != src || r.Dst() != dst) {
		t.Fatalf("rewritten addresses %v > %v, want %v > %v", r.Src(), r.Dst(), src, dst)
	}
}

// checkEmbeddedRewrite rewrites the packet embedded in an ICMP error, as NAT
// does, and checks that the embedded checksums keep their validity and that
// the outer checksum can be repaired.
func checkEmbeddedRewrite(t *testing.T, b []byte) {
	c := bytes.Clone(b)
	var outer, inner Packet
	outer.Decode(c)
	if !outer.Embedded(&inner) {
		return
	}
	okIP, okL4 := inner.IPv4HeaderChecksumOK(), inner.L4ChecksumOK()
	src := addrN4
	if inner.Family == IPv6 {
		src = addrN6
	}
	inner.SetSrc(src)
	inner.SetDstPort(inner.DstPort + 1)
	if inner.IPv4HeaderChecksumOK() != okIP || inner.L4ChecksumOK() != okL4 {
		t.Fatalf("embedded rewrite: checksums ok went from %v, %v to %v, %v",
			okIP, okL4, inner.IPv4HeaderChecksumOK(), inner.L4ChecksumOK())
	}
	outer.ComputeChecksums()
	if outer.l4Checksummable() && !outer.L4ChecksumOK() {
		t.Fatalf("outer ICMP checksum wrong after ComputeChecksums")
	}
}

func checkComputeChecksums(t *testing.T, b []byte) {
	c := bytes.Clone(b)
	var q Packet
	q.Decode(c)
	q.ComputeChecksums()
	if q.Invalid != OK {
		if !bytes.Equal(c, b) {
			t.Fatalf("ComputeChecksums changed an invalid packet")
		}
		return
	}
	if q.Family == IPv4 && !q.IPv4HeaderChecksumOK() {
		t.Fatalf("IPv4 header checksum wrong after ComputeChecksums")
	}
	if !q.l4Checksummable() {
		return
	}
	if q.Proto == ProtoDCCP {
		if _, ok := dccpCoverage(q.L4()); !ok {
			return
		}
	}
	if !q.L4ChecksumOK() {
		t.Fatalf("L4 checksum wrong after ComputeChecksums")
	}
}

// checkReplies builds the REJECT replies to p and checks that they are well
// formed, verify, and go back where p came from.
func checkReplies(t *testing.T, p *Packet) {
	buf := make([]byte, 0, 1280)
	if rst, ok := BuildTCPReset(buf, p, 64); ok {
		var r Packet
		r.Decode(rst)
		if r.Invalid != OK || !r.L4ChecksumOK() || (r.Family == IPv4 && !r.IPv4HeaderChecksumOK()) {
			t.Fatalf("reset %x: Invalid %v or bad checksum", rst, r.Invalid)
		}
		if r.Src() != p.Dst() || r.Dst() != p.Src() || r.SrcPort != p.DstPort || r.DstPort != p.SrcPort ||
			r.TCPFlags&TCPRst == 0 {
			t.Fatalf("reset %x does not answer the packet", rst)
		}
	}
	src := addrR4
	if p.Family == IPv6 {
		src = addrR6
	}
	if e, ok := BuildICMPError(buf, p, src, 3, 3, 64); ok {
		var r Packet
		r.Decode(e)
		if r.Invalid != OK || !r.L4ChecksumOK() || !r.IsICMPError() || r.Dst() != p.Src() {
			t.Fatalf("ICMP error %x: Invalid %v or bad checksum", e, r.Invalid)
		}
		if (r.Family == IPv4 && len(e) > 576) || len(e) > 1280 {
			t.Fatalf("ICMP error of %d bytes", len(e))
		}
	}
}
