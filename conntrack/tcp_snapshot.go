package conntrack

import (
	"encoding/binary"
	"fmt"
)

// tcpSnapshotLen is the length of a tcpTrack in a snapshot (version 1):
// every field of tcp.go's tcpTrack, in declaration order, big-endian:
//
//	seen[0], seen[1]   4×u32 each: end, maxEnd, maxWin, maxAck
//	lastSeq, lastAck   u32
//	lastLen, lastWin   u16
//	flags[0], flags[1], scales, state, lastIndex, lastDir, retrans, lastOpt   u8
//
// A change to tcpTrack must change this file and the snapshot version
// (TestTCPSnapshotCoversEveryField fails until it does).
const tcpSnapshotLen = 2*16 + 8 + 4 + 8

// appendBinary appends the complete TCP tracking state to b, so that a
// connection restored from a snapshot keeps its window tracking: without
// it every restored connection would have to be picked up mid-stream,
// liberally, as conntrackd's restored entries are when it cannot carry
// the windows.
func (t *tcpTrack) appendBinary(b []byte) []byte {
	for d := range t.seen {
		s := &t.seen[d]
		b = binary.BigEndian.AppendUint32(b, s.end)
		b = binary.BigEndian.AppendUint32(b, s.maxEnd)
		b = binary.BigEndian.AppendUint32(b, s.maxWin)
		b = binary.BigEndian.AppendUint32(b, s.maxAck)
	}
	b = binary.BigEndian.AppendUint32(b, t.lastSeq)
	b = binary.BigEndian.AppendUint32(b, t.lastAck)
	b = binary.BigEndian.AppendUint16(b, t.lastLen)
	b = binary.BigEndian.AppendUint16(b, t.lastWin)
	return append(b, t.flags[0], t.flags[1], t.scales, uint8(t.state), t.lastIndex, uint8(t.lastDir), t.retrans, t.lastOpt)
}

// readBinary reads what appendBinary wrote from the front of b and
// returns the rest. It refuses values the tracker can never hold (a
// state, index or direction out of range, a window scale above 14), so
// a corrupt snapshot cannot steer the tracker's tables out of bounds.
func (t *tcpTrack) readBinary(b []byte) ([]byte, error) {
	if len(b) < tcpSnapshotLen {
		return b, fmt.Errorf("tcp state: %d bytes, want %d", len(b), tcpSnapshotLen)
	}
	var n tcpTrack
	for d := range n.seen {
		s := &n.seen[d]
		s.end = binary.BigEndian.Uint32(b[0:])
		s.maxEnd = binary.BigEndian.Uint32(b[4:])
		s.maxWin = binary.BigEndian.Uint32(b[8:])
		s.maxAck = binary.BigEndian.Uint32(b[12:])
		b = b[16:]
	}
	n.lastSeq = binary.BigEndian.Uint32(b[0:])
	n.lastAck = binary.BigEndian.Uint32(b[4:])
	n.lastLen = binary.BigEndian.Uint16(b[8:])
	n.lastWin = binary.BigEndian.Uint16(b[10:])
	b = b[12:]
	n.flags[0], n.flags[1], n.scales = b[0], b[1], b[2]
	n.state, n.lastIndex, n.lastDir, n.retrans, n.lastOpt = TCPState(b[3]), b[4], Dir(b[5]), b[6], b[7]
	b = b[8:]
	switch {
	case n.state >= tcpStateCount:
		return b, fmt.Errorf("tcp state: state %d out of range", n.state)
	case n.lastIndex >= tcpIndexCount:
		return b, fmt.Errorf("tcp state: last index %d out of range", n.lastIndex)
	case n.lastDir > Reply:
		return b, fmt.Errorf("tcp state: last direction %d out of range", n.lastDir)
	case n.scale(Original) > tcpMaxWscale || n.scale(Reply) > tcpMaxWscale || n.lastWscale() > tcpMaxWscale:
		return b, fmt.Errorf("tcp state: window scale above %d", tcpMaxWscale)
	}
	*t = n
	return b, nil
}
