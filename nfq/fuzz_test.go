package nfq

import (
	"encoding/binary"
	"testing"
)

// packetMsg builds an NFQNL_MSG_PACKET as the kernel sends it.
func packetMsg(id uint32, hook uint8, payload []byte) []byte {
	var w builder
	w.begin(msgPacket, 0, 0, 0)
	var hdr [7]byte
	binary.BigEndian.PutUint32(hdr[:], id)
	binary.BigEndian.PutUint16(hdr[4:], 0x0800)
	hdr[6] = hook
	w.attr(attrPacketHdr, hdr[:])
	w.attr32(attrMark, 7)
	w.attr32(attrOutDev, 1)
	w.attr32(attrSkbInfo, skbCsumNotReady)
	w.attr(attrPayload, payload)
	w.end()
	return w.b
}

func TestParsePacketMessage(t *testing.T) {
	msg := packetMsg(42, 4, []byte{0x45, 0, 0, 20})
	_, _, _, body, rest, err := nextMsg(msg)
	if err != nil || rest != nil {
		t.Fatalf("nextMsg: %v, rest %d bytes", err, len(rest))
	}
	var p Packet
	if _, err := parsePacket(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != 42 || p.Hook != 4 || p.HWProtocol != 0x0800 || p.Mark != 7 || p.OutDev != 1 ||
		!p.ChecksumNotReady() || p.GSO() || len(p.Payload) != 4 || p.Length != 4 {
		t.Errorf("parsed %+v", p)
	}
	// Cut short anywhere, it is an error, never a panic.
	for n := range len(msg) {
		if _, _, _, body, _, err := nextMsg(msg[:n]); err == nil {
			if _, err := parsePacket(body, &p); err == nil && n < len(msg)-3 {
				t.Errorf("message cut to %d of %d bytes parsed without error", n, len(msg))
			}
		}
	}
}

// FuzzParse feeds arbitrary datagrams to the receive path's parser.
func FuzzParse(f *testing.F) {
	f.Add(packetMsg(1, 0, []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17}))
	f.Add(append(packetMsg(1, 0, nil), packetMsg(2, 1, []byte{0x60})...))
	f.Add([]byte{16, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf4, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		q := &Queue{pkts: make([]Packet, 0, 4)}
		_ = q.parse(b)
		for _, p := range q.pkts {
			if p.Length < len(p.Payload) {
				t.Fatalf("length %d below payload %d", p.Length, len(p.Payload))
			}
		}
	})
}

// Two packets in one datagram: the first's payload cannot grow into
// the second, the last may grow into the buffer's unused end.
func TestPayloadRoomToGrow(t *testing.T) {
	buf := make([]byte, 0, 4096)
	buf = append(buf, packetMsg(1, 0, []byte{0x45, 0, 0, 20})...)
	buf = append(buf, packetMsg(2, 0, []byte{0x45, 0, 0, 20})...)
	q := &Queue{pkts: make([]Packet, 0, 4)}
	if err := q.parse(buf); err != nil || len(q.pkts) != 2 {
		t.Fatalf("parse: %v, %d packets", err, len(q.pkts))
	}
	if c := cap(q.pkts[0].Payload); c != 4 {
		t.Errorf("the first payload has room for %d bytes, want its own 4", c)
	}
	if c := cap(q.pkts[1].Payload); c < 1000 {
		t.Errorf("the last payload has room for %d bytes, want the buffer's rest", c)
	}
}

// The kernel's checksum state, as NFQA_SKB_INFO reports it: verified
// unless the attribute says not ready or not verified.
func TestChecksumVerified(t *testing.T) {
	for _, tt := range []struct {
		info uint32
		want bool
	}{{0, true}, {skbGSO, true}, {skbCsumNotReady, false}, {skbCsumNotVerified, false}, {skbCsumNotVerified | skbGSO, false}} {
		p := Packet{SkbInfo: tt.info}
		if got := p.ChecksumVerified(); got != tt.want {
			t.Errorf("SkbInfo %#x: ChecksumVerified() = %v, want %v", tt.info, got, tt.want)
		}
	}
}
