package filter

import (
	"encoding/binary"
	"errors"

	"github.com/nfgo/nfgo/packet"
)

// SCTPChunkMatchType is how -m sctp --chunk-types tests the chunks
// (SCTP_CHUNK_MATCH_*).
type SCTPChunkMatchType uint8

// The chunk match types, with the kernel's values.
const (
	SCTPChunksAny  SCTPChunkMatchType = 0x01
	SCTPChunksAll  SCTPChunkMatchType = 0x02
	SCTPChunksOnly SCTPChunkMatchType = 0x04
)

// SCTPFlagTest is one chunk type's flag test: (flags & Mask) == Flags.
type SCTPFlagTest struct {
	Chunk       uint8
	Flags, Mask uint8
}

// SCTPMatch is -m sctp (xt_sctp.c): the ports and, with HasChunks, the
// chunk types the packet carries: any of Chunks, all of them, or only
// them, each with its flag test if it has one. A later fragment never
// matches; a packet too short for its header, or with a chunk of length
// 0 or cut short, is dropped (hotdrop), as in the kernel.
type SCTPMatch struct {
	SrcPorts, DstPorts      PortRange
	HasSrc, HasDst          bool
	InvertSrc, InvertDst    bool
	HasChunks, InvertChunks bool
	ChunkMatch              SCTPChunkMatchType
	Chunks                  [4]uint64 // a bit per chunk type
	FlagTests               []SCTPFlagTest
}

// Name returns "sctp".
func (*SCTPMatch) Name() string { return "sctp" }

// RequiredProto binds the match to -p sctp (xt_sctp's .proto).
func (*SCTPMatch) RequiredProto() (uint8, bool) { return packet.ProtoSCTP, false }

// ErrSCTPInvalid is CheckRule's error for a chunk test without a match
// type.
var ErrSCTPInvalid = errors.New("sctp: invalid chunk match type")

// CheckRule refuses --chunk-types without any, all or only.
func (m *SCTPMatch) CheckRule(_ *Rule, _ Site) error {
	if m.HasChunks && m.ChunkMatch&(SCTPChunksAny|SCTPChunksAll|SCTPChunksOnly) == 0 {
		return ErrSCTPInvalid
	}
	return nil
}

// HasChunk reports whether chunk type t is in Chunks.
func (m *SCTPMatch) HasChunk(t uint8) bool { return m.Chunks[t>>6]&(1<<(t&63)) != 0 }

// Match follows sctp_mt.
func (m *SCTPMatch) Match(c *Context) bool {
	h, ok := firstFragmentHeader(c, 12)
	if !ok {
		return false
	}
	p := c.Packet
	if m.HasSrc && (p.SrcPort >= m.SrcPorts.Min && p.SrcPort <= m.SrcPorts.Max) == m.InvertSrc {
		return false
	}
	if m.HasDst && (p.DstPort >= m.DstPorts.Min && p.DstPort <= m.DstPorts.Max) == m.InvertDst {
		return false
	}
	return !m.HasChunks || m.matchChunks(c, h, 12) != m.InvertChunks
}

// matchChunks is match_packet.
func (m *SCTPMatch) matchChunks(c *Context, b []byte, off int) bool {
	left := m.Chunks
	for {
		if off+4 > len(b) {
			c.HotDrop = true
			return false
		}
		typ, flags, n := b[off], b[off+1], int(binary.BigEndian.Uint16(b[off+2:]))
		if n == 0 {
			c.HotDrop = true
			return false
		}
		off += (n + 3) &^ 3
		if m.HasChunk(typ) {
			ok := m.flagsMatch(typ, flags)
			switch m.ChunkMatch {
			case SCTPChunksAny:
				if ok {
					return true
				}
			case SCTPChunksAll:
				if ok {
					left[typ>>6] &^= 1 << (typ & 63)
				}
			case SCTPChunksOnly:
				if !ok {
					return false
				}
			}
		} else if m.ChunkMatch == SCTPChunksOnly {
			return false
		}
		if off >= len(b) {
			break
		}
	}
	switch m.ChunkMatch {
	case SCTPChunksAll:
		return left == [4]uint64{}
	case SCTPChunksOnly:
		return true
	}
	return false
}

func (m *SCTPMatch) flagsMatch(typ, flags uint8) bool {
	for _, f := range m.FlagTests {
		if f.Chunk == typ {
			return flags&f.Mask == f.Flags
		}
	}
	return true
}
