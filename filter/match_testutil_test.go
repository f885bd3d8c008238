package filter

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// matchPkt describes a test packet; decode builds its bytes and parses them
// with packet.Decode, so the matches see exactly what the engine gives
// them.
type matchPkt struct {
	src, dst     string
	proto        uint8
	sport, dport uint16
	flags        uint8
	tcpOpts      []byte
	icmpType     uint8
	icmpCode     uint8
	ttl, tos     uint8
	fragOff      uint16 // bytes, IPv4 only
	payload      int
}

func (s matchPkt) decode(t testing.TB) *packet.Packet {
	t.Helper()
	src, dst := netip.MustParseAddr(s.src), netip.MustParseAddr(s.dst)
	var l4 []byte
	if s.fragOff == 0 {
		switch s.proto {
		case 6:
			opts := append([]byte(nil), s.tcpOpts...)
			for len(opts)%4 != 0 {
				opts = append(opts, 0)
			}
			l4 = make([]byte, 20+len(opts))
			binary.BigEndian.PutUint16(l4[0:], s.sport)
			binary.BigEndian.PutUint16(l4[2:], s.dport)
			l4[12] = byte(5+len(opts)/4) << 4
			l4[13] = s.flags
			binary.BigEndian.PutUint16(l4[14:], 1024)
			copy(l4[20:], opts)
		case 17:
			l4 = make([]byte, 8)
			binary.BigEndian.PutUint16(l4[0:], s.sport)
			binary.BigEndian.PutUint16(l4[2:], s.dport)
			binary.BigEndian.PutUint16(l4[4:], uint16(8+s.payload))
		case 1, 58:
			l4 = make([]byte, 8)
			l4[0], l4[1] = s.icmpType, s.icmpCode
		}
	}
	l4 = append(l4, make([]byte, s.payload)...)
	var b []byte
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	if src.Is4() {
		b = make([]byte, 20, 20+len(l4))
		b[0], b[1] = 0x45, s.tos
		binary.BigEndian.PutUint16(b[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(b[6:], s.fragOff/8)
		b[8], b[9] = ttl, s.proto
		a, d := src.As4(), dst.As4()
		copy(b[12:], a[:])
		copy(b[16:], d[:])
	} else {
		b = make([]byte, 40, 40+len(l4))
		b[0], b[1] = 0x60|s.tos>>4, s.tos<<4
		binary.BigEndian.PutUint16(b[4:], uint16(len(l4)))
		b[6], b[7] = s.proto, ttl
		a, d := src.As16(), dst.As16()
		copy(b[8:], a[:])
		copy(b[24:], d[:])
	}
	b = append(b, l4...)
	p := new(packet.Packet)
	p.Decode(b)
	if p.Length == 0 {
		t.Fatalf("test packet %+v did not decode: %v", s, p.Invalid)
	}
	return p
}

// ctx returns a Context for the packet at a fixed time.
func matchCtx(p *packet.Packet) *Context {
	return &Context{Packet: p, Hook: Input, In: "eth0", Now: time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)}
}

var (
	mTCP4 = matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 40000, dport: 80, flags: packet.TCPSyn}
	mUDP4 = matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 5353, dport: 53}
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
