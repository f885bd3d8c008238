package conntrack

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nfgo/nfgo/packet"
)

// sctpTrack is an SCTP association's tracking state (struct ip_ct_sctp):
// its state, the verification tag each direction must carry, which
// directions have sent an INIT not yet answered by a COOKIE ACK, and a
// heartbeat whose tag failed the check (multihoming: a path the
// association has not been seen on). A connection keeps it with its
// extensions (connExt), so that UDP and the others pay nothing for it.
type sctpTrack struct {
	state    SCTPState
	lastDir  Dir
	hbFailed bool // SCTP_FLAG_HEARTBEAT_VTAG_FAILED
	init     [2]bool
	vtag     [2]uint32
}

// The SCTP chunk types the tracker knows (SCTP_CID_*), and the T flag of
// ABORT and SHUTDOWN COMPLETE.
const (
	sctpData             = 0
	sctpInit             = 1
	sctpInitAck          = 2
	sctpHeartbeat        = 4
	sctpHeartbeatAck     = 5
	sctpAbort            = 6
	sctpShutdown         = 7
	sctpShutdownAck      = 8
	sctpError            = 9
	sctpCookieEcho       = 10
	sctpCookieAck        = 11
	sctpShutdownComplete = 14

	sctpFlagT = 1
)

// sctpRow is the row of the transition table for a chunk type, -1 for a
// chunk that does not change the state (DATA, SACK, …).
var sctpRow = func() (r [256]int8) {
	for i := range r {
		r[i] = -1
	}
	for row, typ := range []uint8{sctpInit, sctpInitAck, sctpAbort, sctpShutdown, sctpShutdownAck, sctpError,
		sctpCookieEcho, sctpCookieAck, sctpShutdownComplete, sctpHeartbeat, sctpHeartbeatAck} {
		r[typ] = int8(row)
	}
	return r
}()

// sctpIV is the table's "invalid" (SCTP_CONNTRACK_MAX).
const sctpIV = sctpStateCount

// sctpTransitions is sctp_conntracks: the state after a chunk, by
// direction, chunk row and state (NONE … HEARTBEAT_SENT).
var sctpTransitions = func() (t [2][11][sctpStateCount]SCTPState) {
	const (
		NO = SCTPNone
		CL = SCTPClosed
		CW = SCTPCookieWait
		CE = SCTPCookieEchoed
		ES = SCTPEstablished
		SS = SCTPShutdownSent
		SR = SCTPShutdownRecd
		SA = SCTPShutdownAckSent
		HS = SCTPHeartbeatSent
		IV = sctpIV
	)
	_ = NO
	t[Original] = [11][sctpStateCount]SCTPState{
		/* init          */ {CL, CL, CW, CE, ES, CL, CL, SA, CW},
		/* init_ack      */ {CL, CL, CW, CE, ES, SS, SR, SA, CL},
		/* abort         */ {CL, CL, CL, CL, CL, CL, CL, CL, CL},
		/* shutdown      */ {CL, CL, CW, CE, SS, SS, SR, SA, CL},
		/* shutdown_ack  */ {SA, CL, CW, CE, ES, SA, SA, SA, SA},
		/* error         */ {CL, CL, CW, CE, ES, SS, SR, SA, CL},
		/* cookie_echo   */ {CL, CL, CE, CE, ES, SS, SR, SA, CL},
		/* cookie_ack    */ {CL, CL, CW, ES, ES, SS, SR, SA, CL},
		/* shutdown_comp */ {CL, CL, CW, CE, ES, SS, SR, CL, CL},
		/* heartbeat     */ {HS, CL, CW, CE, ES, SS, SR, SA, HS},
		/* heartbeat_ack */ {CL, CL, CW, CE, ES, SS, SR, SA, HS},
	}
	t[Reply] = [11][sctpStateCount]SCTPState{
		/* init          */ {IV, CL, CW, CE, ES, SS, SR, SA, IV},
		/* init_ack      */ {IV, CW, CW, CE, ES, SS, SR, SA, IV},
		/* abort         */ {IV, CL, CL, CL, CL, CL, CL, CL, IV},
		/* shutdown      */ {IV, CL, CW, CE, SR, SS, SR, SA, IV},
		/* shutdown_ack  */ {IV, CL, CW, CE, ES, SA, SA, SA, IV},
		/* error         */ {IV, CL, CW, CL, ES, SS, SR, SA, IV},
		/* cookie_echo   */ {IV, CL, CE, CE, ES, SS, SR, SA, IV},
		/* cookie_ack    */ {IV, CL, CW, ES, ES, SS, SR, SA, IV},
		/* shutdown_comp */ {IV, CL, CW, CE, ES, SS, SR, CL, IV},
		/* heartbeat     */ {IV, CL, CW, CE, ES, SS, SR, SA, HS},
		/* heartbeat_ack */ {IV, CL, CW, CE, ES, SS, SR, SA, ES},
	}
	return t
}()

// sctpNewState is sctp_new_state.
func sctpNewState(dir Dir, cur SCTPState, typ uint8) SCTPState {
	row := sctpRow[typ]
	if row < 0 {
		return cur
	}
	return sctpTransitions[dir][row][cur]
}

// sctpChunk is one chunk header: its type, flags and offset in the SCTP
// packet.
type sctpChunk struct {
	typ, flags uint8
	off        int
}

// sctpChunks walks the chunks of an SCTP packet (l4: from its common
// header to the end of the packet) as for_each_sctp_chunk does: from
// offset 12, while a whole chunk header is there, stepping by the
// chunk's length rounded up to 4.
type sctpChunks struct {
	l4     []byte
	off, n int
}

func (it *sctpChunks) next(c *sctpChunk) (length uint16, ok bool) {
	if it.off == 0 {
		it.off = 12
	}
	if it.off+4 > len(it.l4) {
		return 0, false
	}
	b := it.l4[it.off:]
	c.typ, c.flags, c.off = b[0], b[1], it.off
	length = binary.BigEndian.Uint16(b[2:4])
	it.off += (int(length) + 3) &^ 3
	it.n++
	return length, true
}

// sctpChunkMap is the set of chunk types a packet carries.
type sctpChunkMap [4]uint64

func (m *sctpChunkMap) set(typ uint8)      { m[typ>>6] |= 1 << (typ & 63) }
func (m *sctpChunkMap) has(typ uint8) bool { return m[typ>>6]&(1<<(typ&63)) != 0 }

// sctpBasicChecks is do_basic_checks: the chunks' map, and false when a
// packet has no chunk, a chunk of length 0, a COOKIE ECHO or COOKIE ACK
// that is not first, or a chunk after an INIT, INIT ACK or SHUTDOWN
// COMPLETE (which must be alone).
func sctpBasicChecks(l4 []byte, m *sctpChunkMap) bool {
	it := sctpChunks{l4: l4}
	var c sctpChunk
	alone := false
	for {
		length, ok := it.next(&c)
		if !ok {
			break
		}
		if c.typ == sctpInit || c.typ == sctpInitAck || c.typ == sctpShutdownComplete {
			alone = true
		}
		if (c.typ == sctpCookieAck || c.typ == sctpCookieEcho || alone) && it.n != 1 || length == 0 {
			return false
		}
		m.set(c.typ)
	}
	return it.n != 0
}

// sctpInitTag reads the initiate tag of the INIT or INIT ACK chunk at
// off (the first word after the chunk header).
func sctpInitTag(l4 []byte, off int) (uint32, bool) {
	if off+8 > len(l4) {
		return 0, false
	}
	return binary.BigEndian.Uint32(l4[off+4:]), true
}

// sctpStart is sctp_new: the state of a connection's first packet. It
// refuses an out-of-the-blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK, a
// first packet with a chunk that cannot start one (DATA, say), and an
// INIT whose verification tag is not 0; it notes the tag the other side
// must use.
func (s *sctpTrack) start(l4 []byte, vtag uint32, m *sctpChunkMap) string {
	if m.has(sctpAbort) || m.has(sctpShutdownComplete) || m.has(sctpCookieAck) {
		return "out of the blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK"
	}
	*s = sctpTrack{}
	it := sctpChunks{l4: l4}
	var c sctpChunk
	for {
		if _, ok := it.next(&c); !ok {
			break
		}
		st := sctpNewState(Original, SCTPNone, c.typ)
		if st == SCTPNone || st == sctpIV {
			return "invalid new"
		}
		switch c.typ {
		case sctpInit:
			if vtag != 0 {
				return "INIT with a verification tag"
			}
			tag, ok := sctpInitTag(l4, c.off)
			if !ok {
				return "INIT cut short"
			}
			s.vtag[Reply] = tag
		case sctpHeartbeat:
			s.vtag[Original] = vtag
		default:
			s.vtag[Reply] = vtag
		}
	}
	return ""
}

// sctpUpdate is nf_conntrack_sctp_packet for a packet in direction dir,
// once the checksum has been checked (protoError): it tracks the state
// through the packet's chunks and checks the verification tags. It may
// change s even when it finds the packet invalid, as the kernel does.
// confirmed is false for a connection's first packet.
func (t *Table) sctpUpdate(s *sctpTrack, p *packet.Packet, dir Dir, confirmed bool) protoResult {
	l4 := p.L4()
	var m sctpChunkMap
	if !sctpBasicChecks(l4, &m) {
		return protoResult{invalid: true, reason: "bad SCTP chunks"}
	}
	vtag := p.SCTPVTag
	if !confirmed {
		if why := s.start(l4, vtag, &m); why != "" {
			return protoResult{invalid: true, reason: why}
		}
	}
	if !m.has(sctpInit) && !m.has(sctpShutdownComplete) && !m.has(sctpCookieEcho) && !m.has(sctpAbort) &&
		!m.has(sctpShutdownAck) && !m.has(sctpHeartbeat) && !m.has(sctpHeartbeatAck) && vtag != s.vtag[dir] {
		return protoResult{invalid: true, reason: "verification tag check failed"}
	}
	bad := func(why string) protoResult { return protoResult{invalid: true, reason: why} }
	other := 1 - dir
	old, st := SCTPNone, SCTPNone
	ignore, assured := false, false
	it := sctpChunks{l4: l4}
	var c sctpChunk
	for {
		if _, ok := it.next(&c); !ok {
			break
		}
		switch c.typ {
		case sctpInit:
			if vtag != 0 {
				return bad("INIT with a verification tag")
			}
		case sctpAbort, sctpShutdownComplete:
			want := s.vtag[dir]
			if c.flags&sctpFlagT != 0 {
				want = s.vtag[other]
			}
			if vtag != want {
				return bad("verification tag check failed")
			}
		case sctpCookieEcho:
			if vtag != s.vtag[dir] {
				return bad("verification tag check failed")
			}
		case sctpCookieAck:
			s.init = [2]bool{}
		case sctpHeartbeat:
			switch {
			case s.vtag[dir] == 0:
				s.vtag[dir] = vtag
			case vtag != s.vtag[dir]:
				if m.has(sctpData) || ignore {
					return bad("heartbeat on an unknown path")
				}
				s.hbFailed, s.lastDir = true, dir
				ignore = true
				continue
			default:
				s.hbFailed = false
			}
		case sctpHeartbeatAck:
			switch {
			case s.vtag[dir] == 0:
				s.vtag[dir] = vtag
			case vtag != s.vtag[dir]:
				if m.has(sctpData) || ignore || !s.hbFailed || s.lastDir == dir {
					return bad("heartbeat ack on an unknown path")
				}
				s.hbFailed = false
				s.vtag[dir], s.vtag[other] = vtag, 0
			default:
				s.hbFailed = false
			}
		}
		old = s.state
		st = sctpNewState(dir, old, c.typ)
		if st == sctpIV {
			return bad("invalid SCTP state transition")
		}
		switch c.typ {
		case sctpInit:
			tag, ok := sctpInitTag(l4, c.off)
			if !ok {
				return bad("INIT cut short")
			}
			if s.init[dir] && s.init[other] {
				s.init[other] = false
			}
			s.init[dir] = true
			s.vtag[other] = tag
			// A retransmitted INIT does not renew a closed entry, so
			// that port reuse cannot keep it alive forever.
			if st == SCTPClosed && old == SCTPClosed && confirmed {
				ignore = true
			}
		case sctpInitAck:
			tag, ok := sctpInitTag(l4, c.off)
			if !ok {
				return bad("INIT ACK cut short")
			}
			v := s.vtag[other]
			if !s.init[other] && v != 0 && v != tag {
				return bad("INIT ACK with another tag")
			}
			if s.init[dir] && s.init[other] && v != tag {
				return bad("INIT collision")
			}
			s.vtag[other] = tag
		}
		s.state = st
		if old != st && st == SCTPEstablished {
			assured = true
		}
	}
	if ignore {
		return protoResult{assured: assured}
	}
	return protoResult{timeout: t.cfg.Timeouts.SCTP[st], assured: assured}
}

// sctpSnapshotLen is the size of an SCTP state in a snapshot.
const sctpSnapshotLen = 10

// appendBinary appends the state as a snapshot stores it.
func (s *sctpTrack) appendBinary(b []byte) []byte {
	var flags uint8
	for d, seen := range s.init {
		if seen {
			flags |= 1 << d
		}
	}
	if s.hbFailed {
		flags |= 1 << 2
	}
	if s.lastDir == Reply {
		flags |= 1 << 3
	}
	b = append(b, uint8(s.state), flags)
	b = binary.BigEndian.AppendUint32(b, s.vtag[Original])
	return binary.BigEndian.AppendUint32(b, s.vtag[Reply])
}

// readBinary reads a state appendBinary wrote, and returns the rest.
func (s *sctpTrack) readBinary(b []byte) ([]byte, error) {
	if len(b) < sctpSnapshotLen {
		return b, errors.New("truncated SCTP state")
	}
	if SCTPState(b[0]) >= sctpStateCount || b[1]&^0xf != 0 {
		return b, fmt.Errorf("bad SCTP state %d, flags %#x", b[0], b[1])
	}
	*s = sctpTrack{state: SCTPState(b[0]), init: [2]bool{b[1]&1 != 0, b[1]&2 != 0}, hbFailed: b[1]&4 != 0}
	if b[1]&8 != 0 {
		s.lastDir = Reply
	}
	s.vtag = [2]uint32{binary.BigEndian.Uint32(b[2:]), binary.BigEndian.Uint32(b[6:])}
	return b[sctpSnapshotLen:], nil
}
