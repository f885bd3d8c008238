package packet

import (
	"bytes"
	"testing"
)

// TestNoAllocations holds the datapath to its promise: decoding, checksums,
// rewrites and building replies into a large enough buffer never allocate,
// for every kind of packet.
func TestNoAllocations(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation may allocate")
	}
	var p, inner Packet
	reply := make([]byte, 0, 1500)
	for _, tp := range corpus(t) {
		b := bytes.Clone(tp.b)
		src, dst := addrN4, addrR4
		if len(b) > 0 && b[0]>>4 == 6 {
			src, dst = addrN6, addrR6
		}
		ops := []struct {
			name string
			f    func()
		}{
			{"Decode", func() { p.Decode(b) }},
			{"DecodeEmbedded", func() { p.DecodeEmbedded(b) }},
			{"Embedded", func() { p.Decode(b); p.Embedded(&inner) }},
			{"accessors", func() {
				p.Decode(b)
				_, _, _, _, _ = p.Src(), p.Dst(), p.L4(), p.Payload(), p.Bytes()
				_, _ = p.IsICMPError(), p.HasTCPOption(TCPOptionSACKPermitted)
				_ = p.Invalid.String()
			}},
			{"Checksum", func() { Checksum(b, 0) }},
			{"checksum verifiers", func() { p.Decode(b); p.IPv4HeaderChecksumOK(); p.L4ChecksumOK() }},
			{"ComputeChecksums", func() { p.Decode(b); p.ComputeChecksums() }},
			{"SetSrc SetDst", func() { p.Decode(b); p.SetSrc(src); p.SetDst(dst) }},
			{"SetSrcPort SetDstPort", func() { p.Decode(b); p.SetSrcPort(1); p.SetDstPort(2) }},
			{"SetICMPID", func() { p.Decode(b); p.SetICMPID(3) }},
			{"SetTTL SetTOS", func() { p.Decode(b); p.SetTTL(9); p.SetTOS(4) }},
			{"SetTCPMSS", func() { p.Decode(b); p.SetTCPMSS(1200) }},
			{"embedded rewrite", func() {
				p.Decode(b)
				if p.Embedded(&inner) {
					inner.SetSrc(src)
					inner.SetDstPort(7)
					p.ComputeChecksums()
				}
			}},
			{"BuildTCPReset", func() { p.Decode(b); BuildTCPReset(reply, &p, 64) }},
			{"BuildICMPError", func() { p.Decode(b); BuildICMPError(reply, &p, dst, 3, 3, 64) }},
		}
		for _, op := range ops {
			if n := testing.AllocsPerRun(50, op.f); n != 0 {
				t.Errorf("%s on %s: %v allocations, want 0", op.name, tp.name, n)
			}
		}
	}
}
