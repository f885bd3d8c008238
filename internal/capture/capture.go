// Package capture reads pcap and pcapng files and finds the layer-3
// packet in each frame, for nfgo replay and the tests.
package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo/filter"
)

// Frame is one captured frame with its layer-3 packet located.
type Frame struct {
	// Time is the capture timestamp.
	Time time.Time
	// Data is the whole frame as captured.
	Data []byte
	// L3 is the IP packet inside Data (nil if the frame carries none).
	L3 []byte
	// Link is the link-layer header before L3 (nil for raw IP).
	Link []byte
	// PktType is the link-layer packet type where the link tells it.
	PktType filter.PktType
}

// ErrLinkType is returned for a capture whose link type nfgo cannot read.
var ErrLinkType = errors.New("unsupported link type")

// Reader reads frames from a pcap or pcapng capture.
type Reader struct {
	next     func() ([]byte, time.Time, error)
	linkType layers.LinkType
}

// NewReader detects pcap or pcapng from the file's magic number.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("reading capture header: %w", err)
	}
	rd := &Reader{}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
		rd.linkType = ng.LinkType()
		rd.next = func() ([]byte, time.Time, error) {
			data, ci, err := ng.ReadPacketData()
			return data, ci.Timestamp, err
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", err)
		}
		rd.linkType = pr.LinkType()
		rd.next = func() ([]byte, time.Time, error) {
			data, ci, err := pr.ReadPacketData()
			return data, ci.Timestamp, err
		}
	}
	switch rd.linkType {
	case layers.LinkTypeEthernet, layers.LinkTypeRaw, 12, 14, layers.LinkTypeLinuxSLL, 276, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
	default:
		return nil, fmt.Errorf("%w %d (nfgo reads Ethernet, raw IP, Linux SLL and SLL2)", ErrLinkType, rd.linkType)
	}
	return rd, nil
}

// LinkType returns the capture's link type.
func (r *Reader) LinkType() layers.LinkType { return r.linkType }

// Next returns the next frame, or io.EOF.
func (r *Reader) Next() (Frame, error) {
	data, ts, err := r.next()
	if err != nil {
		return Frame{}, err
	}
	f := Frame{Time: ts, Data: data}
	off, pt, ok := l3Offset(r.linkType, data)
	if ok {
		f.Link, f.L3, f.PktType = data[:off], data[off:], pt
	}
	return f, nil
}

// l3Offset finds the IP header in a frame of the given link type.
func l3Offset(lt layers.LinkType, b []byte) (int, filter.PktType, bool) {
	switch lt {
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return 0, filter.PacketHost, len(b) > 0
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			return 0, 0, false
		}
		pt := filter.PacketHost
		switch {
		case bytes.Equal(b[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}):
			pt = filter.PacketBroadcast
		case b[0]&1 != 0:
			pt = filter.PacketMulticast
		}
		off, etype := 14, binary.BigEndian.Uint16(b[12:])
		for (etype == 0x8100 || etype == 0x88a8) && len(b) >= off+4 {
			etype = binary.BigEndian.Uint16(b[off+2:])
			off += 4
		}
		return off, pt, isIP(etype)
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return 0, 0, false
		}
		return 16, filter.PktType(binary.BigEndian.Uint16(b)), isIP(binary.BigEndian.Uint16(b[14:]))
	case 276: // LINKTYPE_LINUX_SLL2
		if len(b) < 20 {
			return 0, 0, false
		}
		return 20, filter.PktType(b[10]), isIP(binary.BigEndian.Uint16(b))
	}
	return 0, 0, false
}

func isIP(etype uint16) bool { return etype == 0x0800 || etype == 0x86dd }
