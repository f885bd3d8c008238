package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/testpkt"
)

var ip4 = testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: "udp", SrcPort: 1, DstPort: 2})

func ether(dst byte, etype uint16, vlan bool) []byte {
	h := []byte{dst, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1}
	if vlan {
		h = binary.BigEndian.AppendUint16(h, 0x8100)
		h = append(h, 0, 7)
	}
	return binary.BigEndian.AppendUint16(h, etype)
}

func sll(pt uint16) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h, pt)
	binary.BigEndian.PutUint16(h[14:], 0x0800)
	return h
}

func sll2(pt byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, 0x0800)
	h[10] = pt
	return h
}

func TestReaderFindsTheIPPacketInEveryLinkType(t *testing.T) {
	tests := []struct {
		name   string
		link   layers.LinkType
		header []byte
		ng     bool
		wantPT filter.PktType
	}{
		{"raw", layers.LinkTypeRaw, nil, false, filter.PacketHost},
		{"ethernet unicast", layers.LinkTypeEthernet, ether(0x02, 0x0800, false), false, filter.PacketHost},
		{"ethernet broadcast", layers.LinkTypeEthernet, ether(0xff, 0x0800, false), false, filter.PacketBroadcast},
		{"ethernet multicast with a VLAN tag", layers.LinkTypeEthernet, ether(0x01, 0x0800, true), false, filter.PacketMulticast},
		{"linux SLL, outgoing", layers.LinkTypeLinuxSLL, sll(4), false, filter.PacketOutgoing},
		{"linux SLL2, broadcast", 276, sll2(1), false, filter.PacketBroadcast},
		{"pcapng ethernet", layers.LinkTypeEthernet, ether(0x02, 0x0800, false), true, filter.PacketHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := append(append([]byte(nil), tt.header...), ip4...)
			var buf bytes.Buffer
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000, 5000), CaptureLength: len(frame), Length: len(frame)}
			if tt.ng {
				w, err := pcapgo.NewNgWriter(&buf, tt.link)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WritePacket(ci, frame); err != nil {
					t.Fatal(err)
				}
				w.Flush()
			} else {
				w := pcapgo.NewWriter(&buf)
				if err := w.WriteFileHeader(65535, tt.link); err != nil {
					t.Fatal(err)
				}
				if err := w.WritePacket(ci, frame); err != nil {
					t.Fatal(err)
				}
			}
			r, err := NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			f, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.L3, ip4) {
				t.Errorf("L3: got %x, want %x", f.L3, ip4)
			}
			if !bytes.Equal(f.Link, tt.header) && len(tt.header) > 0 {
				t.Errorf("link header: got %x, want %x", f.Link, tt.header)
			}
			if f.PktType != tt.wantPT {
				t.Errorf("packet type: got %d, want %d", f.PktType, tt.wantPT)
			}
			if !f.Time.Equal(ci.Timestamp) {
				t.Errorf("time: got %v, want %v", f.Time, ci.Timestamp)
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("after the last frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderRejectsUnknownLinkTypesAndNonIPFrames(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeIEEE802_11); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(&buf); !errors.Is(err, ErrLinkType) {
		t.Errorf("802.11: got %v, want ErrLinkType", err)
	}
	buf.Reset()
	w = pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	arp := append(ether(0xff, 0x0806, false), make([]byte, 28)...)
	w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(arp), Length: len(arp)}, arp)
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.Next()
	if err != nil || f.L3 != nil {
		t.Errorf("ARP frame: got L3 %x, err %v; want no IP packet", f.L3, err)
	}
	if _, err := NewReader(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("a 2-byte file was accepted as a capture")
	}
}
