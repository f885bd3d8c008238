package packet

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
)

func TestChecksumMatchesGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2100)
	for n := range 300 {
		for _, start := range []int{0, 1, 3} { // unaligned slices too
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			b := buf[start : start+n]
			initial := r.Uint32() >> 4
			want := gopacket.FoldChecksum(gopacket.ComputeChecksum(b, initial))
			if got := Checksum(b, initial); got != want {
				t.Fatalf("Checksum(%d bytes at offset %d, %#x) = %#04x, want %#04x", n, start, initial, got, want)
			}
		}
	}
	// All 0xff bytes stress the carries.
	ff := bytes.Repeat([]byte{0xff}, 2049)
	for _, n := range []int{0, 1, 2, 31, 32, 33, 64, 1500, 2049} {
		want := gopacket.FoldChecksum(gopacket.ComputeChecksum(ff[:n], 0xffff))
		if got := Checksum(ff[:n], 0xffff); got != want {
			t.Errorf("Checksum(%d bytes of 0xff) = %#04x, want %#04x", n, got, want)
		}
	}
}

func TestChecksumOverItsOwnResultIsZero(t *testing.T) {
	b := seqBytes(64)
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:12], Checksum(b, 0))
	if got := Checksum(b, 0); got != 0 {
		t.Errorf("Checksum over data with its checksum in place = %#04x, want 0", got)
	}
}

func TestUpdateChecksumMatchesRecomputation(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		b := make([]byte, 40)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		sum := Checksum(b, 0)
		at := 2 * r.IntN(18) // an even offset
		old16 := binary.BigEndian.Uint16(b[at:])
		new16 := uint16(r.Uint32())
		binary.BigEndian.PutUint16(b[at:], new16)
		if got, want := UpdateChecksum16(sum, old16, new16), Checksum(b, 0); got != want {
			t.Fatalf("UpdateChecksum16(%#04x, %#04x, %#04x) = %#04x, recomputed %#04x", sum, old16, new16, got, want)
		}
		sum = Checksum(b, 0)
		old32 := binary.BigEndian.Uint32(b[at:])
		new32 := r.Uint32()
		binary.BigEndian.PutUint32(b[at:], new32)
		if got, want := UpdateChecksum32(sum, old32, new32), Checksum(b, 0); got != want {
			t.Fatalf("UpdateChecksum32(%#04x, %#08x, %#08x) = %#04x, recomputed %#04x", sum, old32, new32, got, want)
		}
	}
}

// checksummed reports whether L4ChecksumOK can judge the corpus packet.
func checksummed(p *Packet) bool {
	return p.l4Checksummable()
}

func TestL4ChecksumOKAgreesWithGopacket(t *testing.T) {
	for _, tp := range corpus(t) {
		t.Run(tp.name, func(t *testing.T) {
			var p Packet
			p.Decode(tp.b)
			if p.Invalid != OK {
				t.Skip("invalid packet")
			}
			if !p.IPv4HeaderChecksumOK() && p.Family == IPv4 {
				t.Errorf("IPv4HeaderChecksumOK() = false for a gopacket-built header")
			}
			if !checksummed(&p) {
				if p.L4ChecksumOK() {
					t.Errorf("L4ChecksumOK() = true for a packet whose checksum cannot be verified")
				}
				return
			}
			if !p.L4ChecksumOK() {
				t.Fatalf("L4ChecksumOK() = false for a gopacket-built packet")
			}
			if p.Proto == ProtoESP || p.Proto == ProtoAH || p.Proto == ProtoNoNextHeader {
				return // no L4 checksum to corrupt
			}
			if p.Proto == ProtoGRE && p.b[p.L4Off]&greChecksum == 0 {
				return
			}
			// Corrupting the last byte of the L4 header must be caught.
			bad := bytes.Clone(tp.b)
			bad[p.L4Off+(p.PayloadOff-p.L4Off)/2] ^= 0x40
			var q Packet
			q.Decode(bad)
			if q.Invalid == OK && q.L4ChecksumOK() {
				t.Errorf("L4ChecksumOK() = true after corrupting a header byte")
			}
		})
	}
}

func TestL4ChecksumOKZeroUDPChecksum(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"UDP over IPv4: 0 means none", buildUDP(t, flow4, []byte("x")), true},
		{"UDP over IPv6: 0 is bad (RFC 8200 8.1)", buildUDP(t, flow6, []byte("x")), false},
		{"UDP-Lite: 0 is bad (RFC 3828 3.1)", buildUDPLite(t, flow6), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			p.Decode(tt.b)
			binary.BigEndian.PutUint16(p.b[p.L4Off+6:], 0)
			if got := p.L4ChecksumOK(); got != tt.want {
				t.Errorf("L4ChecksumOK() with checksum 0 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestL4ChecksumOKUDPLiteCoverage(t *testing.T) {
	// The checksum covers 12 bytes: the data after them is not checked.
	b := buildUDPLite(t, flow6)
	b[len(b)-1] ^= 0xff
	var p Packet
	p.Decode(b)
	if !p.L4ChecksumOK() {
		t.Errorf("L4ChecksumOK() = false after changing a byte outside the coverage")
	}
	b[40+10] ^= 0xff
	if p.L4ChecksumOK() {
		t.Errorf("L4ChecksumOK() = true after changing a covered byte")
	}
}

func TestL4ChecksumOKDCCPCoverageBeyondPacket(t *testing.T) {
	b := buildDCCP(t, flow4)
	b[20+5] = 0x0f // CsCov 15: header + 56 bytes, more than there are
	var p Packet
	p.Decode(b)
	if p.L4ChecksumOK() {
		t.Errorf("L4ChecksumOK() = true for a coverage past the packet (RFC 4340 9.2)")
	}
}

func TestComputeChecksumsReproducesGopacket(t *testing.T) {
	for _, tp := range corpus(t) {
		t.Run(tp.name, func(t *testing.T) {
			var p Packet
			p.Decode(tp.b)
			if p.Invalid != OK {
				t.Skip("invalid packet")
			}
			// Scribble over the checksum fields, then recompute.
			b := bytes.Clone(tp.b)
			p.Decode(b)
			if p.Family == IPv4 {
				b[10], b[11] = 0xde, 0xad
			}
			if checksummed(&p) {
				switch p.Proto {
				case ProtoTCP:
					b[p.L4Off+16] ^= 0x5a
				case ProtoUDP, ProtoUDPLite, ProtoDCCP:
					b[p.L4Off+6] ^= 0x5a
				case ProtoICMP, ProtoICMPv6:
					b[p.L4Off+2] ^= 0x5a
				case ProtoSCTP:
					b[p.L4Off+8] ^= 0x5a
				case ProtoGRE:
					if b[p.L4Off]&greChecksum != 0 {
						b[p.L4Off+4] ^= 0x5a
					}
				}
			}
			p.ComputeChecksums()
			if !bytes.Equal(b, tp.b) {
				t.Errorf("ComputeChecksums:\n got %x\nwant %x", b, tp.b)
			}
		})
	}
}

func TestComputeChecksumsNeverSendsZeroUDPChecksum(t *testing.T) {
	// Find a payload word that makes the UDP sum come out 0, then check
	// that it is sent as 0xffff (RFC 768).
	b := buildUDP(t, flow4, []byte{0, 0})
	var p Packet
	p.Decode(b)
	for w := range 0x10000 {
		binary.BigEndian.PutUint16(b[28:30], uint16(w))
		p.ComputeChecksums()
		if binary.BigEndian.Uint16(b[26:28]) == 0 {
			t.Fatalf("payload word %#04x: UDP checksum sent as 0", w)
		}
		if binary.BigEndian.Uint16(b[26:28]) == 0xffff {
			if !p.L4ChecksumOK() {
				t.Errorf("checksum 0xffff for a zero sum does not verify")
			}
			return
		}
	}
	t.Fatal("no payload word gave a zero UDP checksum")
}

// A checksum the deliverer verified counts as good, as the kernel takes
// CHECKSUM_UNNECESSARY; Decode forgets it, and a malformed packet is
// not made good by it.
func TestL4ChecksumOKTrustsAVerifiedChecksum(t *testing.T) {
	b := buildUDP(t, flow4, []byte("x"))
	var p Packet
	p.Decode(b)
	binary.BigEndian.PutUint16(p.b[p.L4Off+6:], 0x1234) // a bad checksum
	if p.L4ChecksumOK() {
		t.Fatal("a bad checksum is OK")
	}
	p.ChecksumVerified = true
	if !p.L4ChecksumOK() {
		t.Error("a verified checksum is not OK")
	}
	p.Decode(b)
	if p.ChecksumVerified {
		t.Error("Decode kept ChecksumVerified")
	}
	p.Decode(b[:p.L4Off+4])
	p.ChecksumVerified = true
	if p.Invalid == OK || p.L4ChecksumOK() {
		t.Errorf("a cut UDP header (%v) is OK when verified", p.Invalid)
	}
}
