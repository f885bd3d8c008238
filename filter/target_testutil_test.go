package filter

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// tcp4 builds a checksummed IPv4 TCP segment for the target tests.
func tcp4(t *testing.T, src, dst string, sport, dport uint16, flags uint8, seq, ack uint32, opts, payload []byte) *packet.Packet {
	t.Helper()
	thl := 20 + len(opts)
	b := make([]byte, 20+thl+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	b[6] = 0x40 // DF
	b[8] = 64
	b[9] = packet.ProtoTCP
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	th := b[20:]
	binary.BigEndian.PutUint16(th[0:], sport)
	binary.BigEndian.PutUint16(th[2:], dport)
	binary.BigEndian.PutUint32(th[4:], seq)
	binary.BigEndian.PutUint32(th[8:], ack)
	th[12] = byte(thl/4) << 4
	th[13] = flags
	binary.BigEndian.PutUint16(th[14:], 29200)
	copy(th[20:], opts)
	copy(th[thl:], payload)
	var p packet.Packet
	p.Decode(b)
	p.ComputeChecksums()
	p.Decode(b)
	if p.Invalid != packet.OK {
		t.Fatalf("test packet invalid: %v", p.Invalid)
	}
	return &p
}

// udp4 builds a checksummed IPv4 UDP datagram.
func udp4(t *testing.T, src, dst string, sport, dport uint16, payload []byte) *packet.Packet {
	t.Helper()
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = packet.ProtoUDP
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	var p packet.Packet
	p.Decode(b)
	p.ComputeChecksums()
	p.Decode(b)
	return &p
}

// fakeEnv is an Env with one local address and one MTU.
type fakeEnv struct {
	local netip.Addr
	mtu   int
}

func (e fakeEnv) AddrType(a netip.Addr, _ string) AddrType {
	if a == e.local {
		return AddrLocal
	}
	return AddrUnicast
}

func (e fakeEnv) LocalAddr(string, packet.Family) (netip.Addr, bool) {
	return e.local, e.local.IsValid()
}

func (e fakeEnv) MTU(string) int { return e.mtu }
