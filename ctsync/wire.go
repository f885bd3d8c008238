package ctsync

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MsgType is a message's type, the low nibble of its first byte.
type MsgType uint8

// The message types of network.h. A data message has a type up to
// TypeExpDelete; a control message has TypeControl and says what it is
// by its flags.
const (
	TypeNew       MsgType = 0
	TypeUpdate    MsgType = 1
	TypeDelete    MsgType = 2
	TypeExpNew    MsgType = 3
	TypeExpUpdate MsgType = 4
	TypeExpDelete MsgType = 5
	TypeControl   MsgType = 10
)

// String names the type as network.h does, without its NET_T_STATE_
// prefix.
func (t MsgType) String() string {
	switch t {
	case TypeNew:
		return "CT_NEW"
	case TypeUpdate:
		return "CT_UPD"
	case TypeDelete:
		return "CT_DEL"
	case TypeExpNew:
		return "EXP_NEW"
	case TypeExpUpdate:
		return "EXP_UPD"
	case TypeExpDelete:
		return "EXP_DEL"
	case TypeControl:
		return "CTL"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// IsData reports whether messages of the type carry a connection or an
// expectation.
func (t MsgType) IsData() bool { return t <= TypeExpDelete }

// Flags are a message's flags, its second byte.
type Flags uint8

// The flags of network.h.
const (
	FlagResync    Flags = 0x02
	FlagNACK      Flags = 0x04
	FlagACK       Flags = 0x08
	FlagAlive     Flags = 0x10
	FlagHello     Flags = 0x20
	FlagHelloBack Flags = 0x40
)

// hasRange reports whether a message with these flags carries from and to.
func (f Flags) hasRange() bool { return f&(FlagResync|FlagNACK|FlagACK) != 0 }

const (
	// Version is the protocol version every message carries.
	Version = 1

	// HeaderLen is the length of a message's header.
	HeaderLen = 8
	// RangeHeaderLen is the length of the header of an ACK, NACK or
	// RESYNC message, which adds from and to.
	RangeHeaderLen = 16
)

// ErrMalformed is wrapped by the errors for a datagram or message that
// conntrackd itself would drop: truncated, of the wrong version, or with
// an attribute it would refuse.
var ErrMalformed = errors.New("ctsync: malformed message")

// Header is a message's header.
type Header struct {
	Type  MsgType
	Flags Flags
	// Len is the message's length, header included.
	Len uint16
	// Seq is the message's sequence number.
	Seq uint32
	// From and To are the range an ACK, NACK or RESYNC message names
	// (zero for other messages).
	From, To uint32
}

// size returns the length of the header itself: HeaderLen, or
// RangeHeaderLen for a message that carries a range.
func (h *Header) size() int {
	if h.Type == TypeControl && h.Flags.hasRange() {
		return RangeHeaderLen
	}
	return HeaderLen
}

// ParseHeader reads the header of the message at the start of b and
// checks that the whole message is there. A datagram holds messages back
// to back: the next one starts at b[h.Len:].
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, less than a header", ErrMalformed, len(b))
	}
	if v := b[0] >> 4; v != Version {
		return Header{}, fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	h := Header{
		Type:  MsgType(b[0] & 0x0f),
		Flags: Flags(b[1]),
		Len:   binary.BigEndian.Uint16(b[2:]),
		Seq:   binary.BigEndian.Uint32(b[4:]),
	}
	if int(h.Len) < h.size() {
		return Header{}, fmt.Errorf("%w: length %d shorter than its header", ErrMalformed, h.Len)
	}
	if int(h.Len) > len(b) {
		return Header{}, fmt.Errorf("%w: length %d, %d bytes left in the datagram", ErrMalformed, h.Len, len(b))
	}
	if !h.Type.IsData() && h.Type != TypeControl {
		return Header{}, fmt.Errorf("%w: type %d", ErrMalformed, h.Type)
	}
	if h.size() == RangeHeaderLen {
		h.From = binary.BigEndian.Uint32(b[8:])
		h.To = binary.BigEndian.Uint32(b[12:])
	}
	return h, nil
}

// AppendControl appends a control message: flags FlagAlive for a bare
// keepalive, FlagACK or FlagNACK with the range [from, to], FlagResync
// (with from = to = 0) to ask for a full dump. FlagHello and
// FlagHelloBack may be added to any of them.
func AppendControl(b []byte, flags Flags, seq, from, to uint32) []byte {
	h := Header{Type: TypeControl, Flags: flags, Seq: seq, From: from, To: to}
	h.Len = uint16(h.size())
	return h.append(b)
}

// append appends the header as it is on the wire.
func (h *Header) append(b []byte) []byte {
	b = append(b, Version<<4|byte(h.Type), byte(h.Flags))
	b = binary.BigEndian.AppendUint16(b, h.Len)
	b = binary.BigEndian.AppendUint32(b, h.Seq)
	if h.size() == RangeHeaderLen {
		b = binary.BigEndian.AppendUint32(b, h.From)
		b = binary.BigEndian.AppendUint32(b, h.To)
	}
	return b
}

// After reports whether sequence number a comes after b, modulo 2^32, as
// conntrackd compares them.
func After(a, b uint32) bool { return int32(b-a) < 0 }
