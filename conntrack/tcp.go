package conntrack

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// This file is the TCP tracker, a port of the kernel's
// nf_conntrack_proto_tcp.c (mainline 6.x): the state table
// tcp_conntracks, window tracking after Guido van Rooij's "Real Stateful
// TCP Packet Filtering in IP Filter" (tcp_in_window), and the special
// cases of nf_conntrack_tcp_packet around ignored packets, RSTs and
// reopened connections. Names follow the kernel's so that a reader can
// put the two side by side.

// TCPConfig holds the nf_conntrack_tcp_* sysctls. The zero value is the
// kernel's default: loose pickup on, be_liberal off, max_retrans 3,
// ignore_invalid_rst off.
type TCPConfig struct {
	// NoLoose is nf_conntrack_tcp_loose=0: only a SYN may create a
	// connection.
	NoLoose bool
	// BeLiberal is nf_conntrack_tcp_be_liberal=1: window checks never
	// make a packet INVALID (only the state table and RST checks do).
	BeLiberal bool
	// MaxRetrans is nf_conntrack_tcp_max_retrans; 0 means the default,
	// 3.
	MaxRetrans uint8
	// IgnoreInvalidRST is nf_conntrack_tcp_ignore_invalid_rst=1: a RST
	// whose sequence number is below the peer's highest ACK is not
	// INVALID.
	IgnoreInvalidRST bool
}

// maxRetrans returns nf_conntrack_tcp_max_retrans.
func (c *TCPConfig) maxRetrans() uint8 {
	if c.MaxRetrans == 0 {
		return 3
	}
	return c.MaxRetrans
}

// tcpResult is the tracker's verdict on one packet of a connection.
type tcpResult struct {
	// Invalid means the packet is INVALID: the kernel returns
	// -NF_ACCEPT. The connection's state is unchanged, except for the
	// few things the kernel itself records on the way to that verdict:
	// a window re-initialised from a SYN before the checks failed, the
	// SIMULTANEOUS_OPEN mark of a SYN_SENT2 transition, and the
	// last_index/last_dir that nf_tcp_handle_invalid notes for a FIN or
	// RST of an ASSURED connection.
	Invalid bool
	// Reason says why the packet is invalid or was ignored, in the
	// words of the kernel's log ("SEQ is over upper bound (over the
	// window of the receiver)", ...); the kernel's numbers are left
	// out so that the strings are constants.
	Reason string
	// Timeout is the entry's new timeout, after the RETRANS and UNACK
	// caps. It is 0 when the kernel leaves the timeout as it is: an
	// ignored packet, a SYN retransmitted before any reply ("do not
	// renew timeout on SYN retransmit").
	//
	// For an Invalid packet with Shrink set, it is the timeout that the
	// entry's remaining time must be lowered to (see Shrink).
	Timeout time.Duration
	// Assured asks the caller to set IPS_ASSURED.
	Assured bool
	// Repeat asks the caller to delete the entry and look the packet up
	// again (-NF_REPEAT): a SYN reopening a connection in TIME_WAIT or
	// CLOSE.
	Repeat bool
	// Kill asks the caller to delete the entry after accepting the
	// packet: a RST before any reply was seen.
	Kill bool
	// Shrink is set with Invalid when the kernel's nf_tcp_handle_invalid
	// shortens the life of an ASSURED connection whose FIN or RST was
	// out of window after one in the other direction: if the entry's
	// remaining time is at least 120 s and above Timeout, it becomes
	// Timeout (nf_conntrack_tcp_timeout_unacknowledged).
	Shrink bool
}

// tcpDirState is what the tracker knows of one direction's sender
// (struct ip_ct_tcp_state without td_scale and flags, which tcpTrack
// packs separately to stay small). Sequence numbers are compared modulo
// 2^32 with before and after, as the kernel does.
type tcpDirState struct {
	end    uint32 // td_end: the highest seq+len sent
	maxEnd uint32 // td_maxend: the highest ack+window the peer announced
	maxWin uint32 // td_maxwin: the largest window the sender announced
	maxAck uint32 // td_maxack: the highest ack the sender sent
}

// tcpTrack is the per-connection TCP state (struct ip_ct_tcp), fixed-size
// and pointer-free: 52 bytes against the kernel's 60, by keeping last_end
// as a 16-bit length from last_seq and packing both window scales into one
// byte and last_wscale with last_flags into another.
type tcpTrack struct {
	seen [2]tcpDirState // by Dir

	lastSeq uint32 // last_seq: seq of the last ACK or ignored packet
	lastAck uint32 // last_ack
	// lastLen is last_end - last_seq. A segment's seq+len-seq is its
	// payload plus SYN and FIN, at most 65517 bytes for any packet the
	// decoder accepts (IPv4 total and IPv6 payload lengths are 16-bit).
	lastLen uint16
	lastWin uint16 // last_win: the raw window of that packet

	flags     [2]uint8 // seen[dir].flags: the tcpFlag* bits
	scales    uint8    // seen[dir].td_scale: Original in bits 0-3, Reply in 4-7
	state     TCPState
	lastIndex uint8 // last_index: the tcpIndex* of the last in-window or ignored packet
	lastDir   Dir   // last_dir
	retrans   uint8 // retrans: repeats of the same ACK
	// lastOpt holds last_flags in their kernel bits (tcpFlagWindowScale,
	// tcpFlagSACKPerm, tcpFlagExpChallengeAck, tcpFlagSimultaneousOpen)
	// and last_wscale, which is at most 14, in bits 2-5.
	lastOpt uint8
}

// The per-direction flags (IP_CT_TCP_FLAG_* in uapi nf_conntrack_tcp.h)
// and the last_flags-only bits, with the kernel's values.
const (
	tcpFlagWindowScale        = 0x01
	tcpFlagSACKPerm           = 0x02
	tcpFlagCloseInit          = 0x04
	tcpFlagBeLiberal          = 0x08
	tcpFlagDataUnacknowledged = 0x10
	tcpFlagMaxAckSet          = 0x20
	tcpFlagExpChallengeAck    = 0x40
	tcpFlagSimultaneousOpen   = 0x80

	lastFlagsMask  = tcpFlagWindowScale | tcpFlagSACKPerm | tcpFlagExpChallengeAck | tcpFlagSimultaneousOpen
	lastWscaleMask = 0x3c
)

// The table indexes of a packet's flags (enum tcp_bit_set).
const (
	tcpIndexSYN = iota
	tcpIndexSYNACK
	tcpIndexFIN
	tcpIndexACK
	tcpIndexRST
	tcpIndexNone
	tcpIndexCount
)

// Pseudo-states of the transition table: INVALID and IGNORE
// (TCP_CONNTRACK_MAX and TCP_CONNTRACK_IGNORE).
const (
	sIV = tcpStateCount
	sIG = tcpStateCount + 1
)

// tcpMaxWscale is TCP_MAX_WSCALE (RFC 7323 2.3).
const tcpMaxWscale = 14

// maxAckWinConst is MAXACKWINCONST: the least window of the ack lower
// bound (check IV).
const maxAckWinConst = 66000

// tcpIndex returns the row of the transition table for a packet's flags
// (get_conntrack_index): RST wins, then SYN (SYN/ACK if ACK is set too),
// FIN and ACK.
func tcpIndex(flags uint8) uint8 {
	switch {
	case flags&packet.TCPRst != 0:
		return tcpIndexRST
	case flags&packet.TCPSyn != 0:
		if flags&packet.TCPAck != 0 {
			return tcpIndexSYNACK
		}
		return tcpIndexSYN
	case flags&packet.TCPFin != 0:
		return tcpIndexFIN
	case flags&packet.TCPAck != 0:
		return tcpIndexACK
	}
	return tcpIndexNone
}

// Short names for the transition table, as the kernel's sNO ... sS2.
const (
	sNO = TCPNone
	sSS = TCPSynSent
	sSR = TCPSynRecv
	sES = TCPEstablished
	sFW = TCPFinWait
	sCW = TCPCloseWait
	sLA = TCPLastAck
	sTW = TCPTimeWait
	sCL = TCPClose
	sS2 = TCPSynSent2
)

// tcpConntracks is the state table tcp_conntracks[dir][index][old state]
// of mainline 6.x, which differs from older kernels: an original-direction
// SYN/ACK is only valid in SYN_SENT2 and SYN_RECV (late retransmission in
// simultaneous open), and a reply-direction SYN in TIME_WAIT reopens the
// connection (the server may have switched roles).
var tcpConntracks = [2][tcpIndexCount][tcpStateCount]TCPState{
	Original: {
		//                 sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
		tcpIndexSYN:    {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
		tcpIndexSYNACK: {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
		tcpIndexFIN:    {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		tcpIndexACK:    {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
		tcpIndexRST:    {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		tcpIndexNone:   {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
	Reply: {
		//                 sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
		tcpIndexSYN:    {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
		tcpIndexSYNACK: {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
		tcpIndexFIN:    {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		tcpIndexACK:    {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
		tcpIndexRST:    {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		tcpIndexNone:   {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
}

// The kernel's log words. Numbers the kernel prints (bounds, byte
// counts) are left out so the strings are constants and a packet
// allocates nothing.
const (
	reasonTruncated    = "truncated packet"
	reasonBadChecksum  = "bad checksum"
	reasonInvalidFlags = "invalid tcp flag combination"
	reasonInvalidNew   = "invalid new"
	reasonNoLoose      = "not a SYN and nf_conntrack_tcp_loose is off"
	reasonSeqOver      = "SEQ is over upper bound (over the window of the receiver)"
	reasonOvershoot    = "bytes more than expected"
	reasonAckOver      = "ACK is over upper bound (ACKed data not seen yet)"
	reasonSeqUnder     = "SEQ is under lower bound (already ACKed data retransmitted)"
	reasonAckUnder     = "ignored ACK under lower bound (possible overly delayed)"
	reasonInvalidRST   = "invalid rst"
	reasonChallengeAck = "challenge-ack ignored"
)

// tcpPacketReasons holds "packet (index %d) in dir %d ignored|invalid,
// state %s", formatted once so that logging them costs a packet nothing.
var tcpPacketReasons = func() (r [2][2][tcpIndexCount][tcpStateCount]string) {
	for inv, what := range [2]string{"ignored", "invalid"} {
		for dir := range 2 {
			for index := range tcpIndexCount {
				for st := range tcpStateCount {
					r[inv][dir][index][st] = fmt.Sprintf("packet (index %d) in dir %d %s, state %s",
						index, dir, what, st)
				}
			}
		}
	}
	return r
}()

// tcpValidFlags is tcp_valid_flags: the combinations of FIN, SYN, RST,
// ACK and URG that a packet may carry. PSH, ECE and CWR are masked off
// before the lookup, so they are always allowed.
var tcpValidFlags = func() (v [64]bool) {
	const f, s, r, a, u = packet.TCPFin, packet.TCPSyn, packet.TCPRst, packet.TCPAck, packet.TCPUrg
	for _, c := range []uint8{s, s | u, s | a, r, r | a, f | a, f | a | u, a, a | u} {
		v[c] = true
	}
	return v
}()

// before and after compare sequence numbers modulo 2^32 (the kernel's
// before() and after()).
func before(a, b uint32) bool { return int32(a-b) < 0 }
func after(a, b uint32) bool  { return int32(b-a) < 0 }

// State returns the connection's TCP state.
func (t *tcpTrack) State() TCPState { return t.state }

// scale returns seen[dir].td_scale.
func (t *tcpTrack) scale(dir Dir) uint8 { return t.scales >> (4 * dir) & 0x0f }

// setScale sets seen[dir].td_scale, at most 14.
func (t *tcpTrack) setScale(dir Dir, s uint8) {
	shift := 4 * dir
	t.scales = t.scales&^(0x0f<<shift) | (s&0x0f)<<shift
}

// lastEnd returns last_end.
func (t *tcpTrack) lastEnd() uint32 { return t.lastSeq + uint32(t.lastLen) }

// setLast records last_seq and last_end.
func (t *tcpTrack) setLast(seq, end uint32) {
	t.lastSeq = seq
	t.lastLen = uint16(end - seq)
}

// lastFlags returns last_flags.
func (t *tcpTrack) lastFlags() uint8 { return t.lastOpt & lastFlagsMask }

// lastWscale returns last_wscale.
func (t *tcpTrack) lastWscale() uint8 { return t.lastOpt & lastWscaleMask >> 2 }

// tcpError is tcp_error: "" if the packet may be tracked, else the
// kernel's reason. checksum says whether to verify the checksum (the
// kernel does at PREROUTING with nf_conntrack_checksum=1).
func tcpError(p *packet.Packet, checksum bool) string {
	// A header shorter than 20 bytes or than its data offset: the
	// kernel's "not whole TCP header or malformed packet".
	if p.L4Off == 0 || p.Proto != packet.ProtoTCP {
		return reasonTruncated
	}
	// The checksum of a fragment covers the whole datagram, which the
	// kernel has reassembled by now; nfgo cannot check it here.
	if checksum && !p.Fragment && !p.L4ChecksumOK() {
		return reasonBadChecksum
	}
	if !tcpValidFlags[p.TCPFlags&^(packet.TCPEce|packet.TCPCwr|packet.TCPPsh)] {
		return reasonInvalidFlags
	}
	return ""
}

// segEnd returns seq plus the segment's length in sequence space: its
// payload, plus one for SYN and one for FIN (segment_seq_plus_len).
func segEnd(p *packet.Packet) uint32 {
	end := p.Seq + uint32(p.WireLength-p.PayloadOff)
	if p.TCPFlags&packet.TCPSyn != 0 {
		end++
	}
	if p.TCPFlags&packet.TCPFin != 0 {
		end++
	}
	return end
}

// tcpOptionBytes returns the options area of p's TCP header.
func tcpOptionBytes(p *packet.Packet) []byte {
	return p.Bytes()[p.L4Off+20 : p.PayloadOff]
}

// tcpSynOptions walks the options as the kernel's tcp_options does and
// returns the window scale (clamped to 14) and the flags it implies,
// tcpFlagWindowScale and tcpFlagSACKPerm. ok is false when the header
// has no options, in which case the kernel leaves the sender's scale and
// flags as they were.
func tcpSynOptions(p *packet.Packet) (scale, flags uint8, ok bool) {
	opts := tcpOptionBytes(p)
	if len(opts) == 0 {
		return 0, 0, false
	}
	for i := 0; i < len(opts); {
		switch kind := opts[i]; kind {
		case packet.TCPOptionEnd:
			return scale, flags, true
		case packet.TCPOptionNOP:
			i++
		default:
			if len(opts)-i < 2 {
				return scale, flags, true
			}
			n := int(opts[i+1])
			// "Silly options" and partial ones end the walk.
			if n < 2 || n > len(opts)-i {
				return scale, flags, true
			}
			switch {
			case kind == packet.TCPOptionSACKPermitted && n == 2:
				flags |= tcpFlagSACKPerm
			case kind == packet.TCPOptionWindowScale && n == 3:
				scale = min(opts[i+2], tcpMaxWscale)
				flags |= tcpFlagWindowScale
			}
			i += n
		}
	}
	return scale, flags, true
}

// tcpSACK returns the highest right edge among the blocks of the first
// well-formed SACK option, if it is after ack, else ack (tcp_sack).
func tcpSACK(p *packet.Packet, ack uint32) uint32 {
	opts := tcpOptionBytes(p)
	// Linux sends the timestamps behind two NOPs and nothing else on
	// most segments; the kernel skips that layout at once.
	if len(opts) == 12 && binary.BigEndian.Uint32(opts) == 0x0101080a {
		return ack
	}
	sack := ack
	for i := 0; i < len(opts); {
		switch kind := opts[i]; kind {
		case packet.TCPOptionEnd:
			return sack
		case packet.TCPOptionNOP:
			i++
		default:
			if len(opts)-i < 2 {
				return sack
			}
			n := int(opts[i+1])
			if n < 2 || n > len(opts)-i {
				return sack
			}
			if kind == packet.TCPOptionSACK && n >= 10 && (n-2)%8 == 0 {
				for b := i + 2; b < i+n; b += 8 {
					if right := binary.BigEndian.Uint32(opts[b+4:]); after(right, sack) {
						sack = right
					}
				}
				return sack
			}
			i += n
		}
	}
	return sack
}

// start is tcp_new: it initialises t for a connection whose first packet
// is p, or returns the reason the packet cannot create one. Only a SYN,
// or with loose pickup an ACK, can: a SYN/ACK, FIN or RST has nothing to
// start from ("invalid new").
func (t *tcpTrack) start(p *packet.Packet, cfg *TCPConfig) (reason string) {
	if p.L4Off == 0 || p.Proto != packet.ProtoTCP {
		return reasonTruncated
	}
	next := tcpConntracks[Original][tcpIndex(p.TCPFlags)][TCPNone]
	if next >= sIV {
		return reasonInvalidNew
	}
	if next != TCPSynSent && cfg.NoLoose {
		return reasonNoLoose
	}
	*t = tcpTrack{}
	s := &t.seen[Original]
	s.end = segEnd(p)
	s.maxWin = max(uint32(p.Window), 1)
	if next == TCPSynSent {
		s.maxEnd = s.end
		t.applySynOptions(p, Original)
	} else {
		// Picked up mid-stream, its history lost: trust the packet's
		// window, and assume SACK and a liberal window check in both
		// directions, since the window scale is unknown.
		s.maxEnd = s.end + s.maxWin
		t.flags[Original] = tcpFlagSACKPerm | tcpFlagBeLiberal
		t.flags[Reply] = tcpFlagSACKPerm | tcpFlagBeLiberal
	}
	// update sets the real ones.
	t.lastIndex = tcpIndexNone
	return ""
}

// applySynOptions is tcp_options applied to seen[dir]: a header with
// options resets the sender's scale and flags (all but BE_LIBERAL)
// before reading them.
func (t *tcpTrack) applySynOptions(p *packet.Packet, dir Dir) {
	scale, flags, ok := tcpSynOptions(p)
	if !ok {
		return
	}
	t.setScale(dir, scale)
	t.flags[dir] = t.flags[dir]&tcpFlagBeLiberal | flags
}

// initSender is tcp_init_sender: a SYN/ACK answering a SYN, or a SYN from
// the reply direction in a simultaneous open, (re)starts its sender's
// window. RFC 7323 2.2: window scaling is on only if both SYNs carried
// the option, which is known once the reply direction's arrives.
func (t *tcpTrack) initSender(p *packet.Packet, dir Dir, end, win uint32) {
	s := &t.seen[dir]
	s.end = end
	s.maxEnd = end
	s.maxWin = max(win, 1)
	t.applySynOptions(p, dir)
	if dir == Reply && (t.flags[Original]&tcpFlagWindowScale == 0 || t.flags[Reply]&tcpFlagWindowScale == 0) {
		t.scales = 0
	}
}

// The outcomes of tcp_in_window (enum nf_ct_tcp_action).
const (
	tcpAccept = iota
	tcpIgnore
	tcpInvalid
)

// logInvalid is nf_tcp_log_invalid: a liberal sender (picked up
// mid-stream, or be_liberal set) has every window failure accepted, which
// ends tcp_in_window without updating the window.
func (t *tcpTrack) logInvalid(dir Dir, cfg *TCPConfig, action int, reason string) (int, string) {
	if cfg.BeLiberal || t.flags[dir]&tcpFlagBeLiberal != 0 {
		return tcpAccept, ""
	}
	return action, reason
}

// maxAckWindow is MAXACKWINDOW(sender).
func maxAckWindow(s *tcpDirState) uint32 { return max(s.maxWin, maxAckWinConst) }

// inWindow is tcp_in_window. With sender the direction of the packet and
// receiver the other:
//
//	I.   seq <= sender.td_maxend
//	II.  seq+len >= sender.td_end - receiver.td_maxwin
//	III. sack <= receiver.td_end
//	IV.  sack >= receiver.td_end - MAXACKWINDOW(sender)
//
// where sack is the highest SACK right edge, or the ack. I and III failing
// make the packet INVALID; II and IV make it ignored. A packet that passes
// updates both directions' windows and the retransmission count.
func (t *tcpTrack) inWindow(p *packet.Packet, dir Dir, index uint8, cfg *TCPConfig, ackOff int32) (int, string) {
	sender, receiver := &t.seen[dir], &t.seen[1-dir]
	flags := p.TCPFlags
	syn, ackFlag, rst := flags&packet.TCPSyn != 0, flags&packet.TCPAck != 0, flags&packet.TCPRst != 0
	seq, ack := p.Seq, p.Ack
	sack := ack
	winRaw := p.Window
	win := uint32(winRaw)
	end := segEnd(p)

	if t.flags[1-dir]&tcpFlagSACKPerm != 0 {
		sack = tcpSACK(p, sack)
	}
	// Undo the sequence adjustment of the receiver's data that this
	// acknowledges (nf_ct_seq_offset): the tracker sees both sides as
	// the hosts numbered them.
	ack -= uint32(ackOff)
	sack -= uint32(ackOff)

	if sender.maxWin == 0 {
		if syn {
			t.initSender(p, dir, end, win)
			if !ackFlag {
				// Simultaneous open: a reply-direction SYN.
				return tcpAccept, ""
			}
		} else {
			// The first packet seen from this side of a connection
			// picked up mid-stream: take what the packet says.
			sender.end = end
			sender.maxWin = max(win<<t.scale(dir), 1)
			sender.maxEnd = end + sender.maxWin
			if receiver.maxWin == 0 {
				// Nothing from the other side yet either: let III
				// and IV pass until it speaks.
				receiver.end = sack
				receiver.maxEnd = sack
			} else if sack == receiver.end+1 {
				// Likely a reply to a keepalive (III).
				receiver.end++
			}
		}
	} else if syn && after(end, sender.end) && (t.state == TCPSynSent || t.state == TCPSynRecv) {
		// RFC 9293 3.4.1: a restarted TCP only has to use higher
		// sequence numbers, so a new SYN (or SYN/ACK) with a higher
		// ISN re-initialises its sender.
		t.initSender(p, dir, end, win)
		if dir == Reply && !ackFlag {
			return tcpAccept, ""
		}
	}

	if !ackFlag || rst && ack == 0 {
		// No ACK, or a RST with ACK set and a zero ack from a broken
		// stack: pretend it acknowledged everything.
		ack = receiver.end
		sack = receiver.end
	}
	if rst && seq == 0 && t.state == TCPSynSent {
		// A RST answering a SYN.
		seq = sender.end
		end = sender.end
	}

	if !before(seq, sender.maxEnd+1) {
		// I fails. Some stacks send a little more than the window;
		// if that is all that is wrong, note the data so its ACK
		// passes III later, and let the packet through.
		overshot := end - sender.maxEnd + 1
		ackOK := after(sack, receiver.end-maxAckWindow(sender)-1)
		inRecvWin := receiver.maxWin != 0 && after(end, sender.end-receiver.maxWin-1)
		if inRecvWin && ackOK && overshot <= receiver.maxWin && before(sack, receiver.end+1) {
			sender.end = end
			t.flags[dir] |= tcpFlagDataUnacknowledged
			return t.logInvalid(dir, cfg, tcpIgnore, reasonOvershoot)
		}
		return t.logInvalid(dir, cfg, tcpInvalid, reasonSeqOver)
	}
	if !before(sack, receiver.end+1) {
		return t.logInvalid(dir, cfg, tcpInvalid, reasonAckOver)
	}
	if receiver.maxWin != 0 && !after(end, sender.end-receiver.maxWin-1) {
		return t.logInvalid(dir, cfg, tcpIgnore, reasonSeqUnder)
	}
	if !after(sack, receiver.end-maxAckWindow(sender)-1) {
		return t.logInvalid(dir, cfg, tcpIgnore, reasonAckUnder)
	}

	// RFC 7323 2.2: the window of a SYN is never scaled.
	if !syn {
		win <<= t.scale(dir)
	}

	// The sender.
	if swin := win + (sack - ack); sender.maxWin < swin {
		sender.maxWin = swin
	}
	if after(end, sender.end) {
		sender.end = end
		t.flags[dir] |= tcpFlagDataUnacknowledged
	}
	if ackFlag {
		if t.flags[dir]&tcpFlagMaxAckSet == 0 {
			sender.maxAck = ack
			t.flags[dir] |= tcpFlagMaxAckSet
		} else if after(ack, sender.maxAck) {
			sender.maxAck = ack
		}
	}

	// The receiver.
	if receiver.maxWin != 0 && after(end, sender.maxEnd) {
		receiver.maxWin += end - sender.maxEnd
	}
	if after(sack+win, receiver.maxEnd-1) {
		receiver.maxEnd = sack + win
		if win == 0 {
			receiver.maxEnd++
		}
	}
	if ack == receiver.end {
		t.flags[1-dir] &^= tcpFlagDataUnacknowledged
	}

	// Retransmissions: the same ACK segment again, in the same
	// direction.
	if index == tcpIndexACK {
		if t.lastDir == dir && t.lastSeq == seq && t.lastAck == ack && t.lastEnd() == end && t.lastWin == winRaw {
			t.retrans++
		} else {
			t.lastDir = dir
			t.setLast(seq, end)
			t.lastAck = ack
			t.lastWin = winRaw
			t.retrans = 0
		}
	}
	return tcpAccept, ""
}

// handleInvalid is nf_tcp_handle_invalid: an ASSURED connection whose
// FIN or RST came out of window may be out of sync with its endpoints.
// The first such packet is remembered; one in the other direction after
// it shortens the connection's life to the UNACK timeout, so a dead
// connection does not linger for days in ESTABLISHED.
func (t *tcpTrack) handleInvalid(dir Dir, index uint8, status Status, to *Timeouts, res *tcpResult) {
	if status&StatusAssured == 0 || status&StatusFixedTimeout != 0 {
		return
	}
	if index != tcpIndexRST && index != tcpIndexFIN {
		return
	}
	if t.lastDir != dir && (t.lastIndex == tcpIndexFIN || t.lastIndex == tcpIndexRST) {
		res.Shrink = true
		res.Timeout = to.TCPUnack
		return
	}
	t.lastIndex = index
	t.lastDir = dir
}

// update is nf_conntrack_tcp_packet for a packet of an existing (or just
// started) connection, travelling in direction dir; status is the
// entry's status bits before the packet.
func (t *tcpTrack) update(p *packet.Packet, dir Dir, status Status, cfg *TCPConfig, to *Timeouts, ackOff int32) tcpResult {
	if p.L4Off == 0 || p.Proto != packet.ProtoTCP {
		return tcpResult{Invalid: true, Reason: reasonTruncated}
	}
	dir &= 1
	oldState := t.state
	index := tcpIndex(p.TCPFlags)
	newState := tcpConntracks[dir][index][oldState]
	var res tcpResult

	switch newState {
	case TCPSynSent:
		if oldState < TCPTimeWait {
			break
		}
		// RFC 1122 4.2.2.13: a SYN may reopen a connection in
		// TIME_WAIT; so may one after a close or an abort, when the
		// client gave up on a connection that we and the server still
		// hold. The kernel deletes the entry and looks the packet up
		// again, to start afresh.
		if (t.flags[dir]|t.flags[1-dir])&tcpFlagCloseInit != 0 || t.lastDir == dir && t.lastIndex == tcpIndexRST {
			return tcpResult{Repeat: true}
		}
		// Otherwise the SYN is ignored, as below.
		return t.ignore(p, dir, index, oldState)
	case sIG:
		if index == tcpIndexSYNACK && t.lastIndex == tcpIndexSYN && t.lastDir != dir && p.Ack == t.lastEnd() {
			// This SYN/ACK answers a SYN that we ignored: client and
			// server are in sync and we are not. Start over from
			// what the SYN said.
			oldState, newState = TCPSynSent, TCPSynRecv
			ld := t.lastDir
			s := &t.seen[ld]
			s.end = t.lastEnd()
			s.maxEnd = t.lastEnd()
			s.maxWin = max(uint32(t.lastWin), 1)
			t.setScale(ld, t.lastWscale())
			t.lastOpt &^= tcpFlagExpChallengeAck
			t.flags[ld] = t.lastFlags()
			// nf_ct_tcp_state_reset of the SYN/ACK's sender.
			t.seen[dir] = tcpDirState{}
			t.setScale(dir, 0)
			t.flags[dir] &= tcpFlagBeLiberal
			break
		}
		return t.ignore(p, dir, index, oldState)
	case sIV:
		// SYNPROXY's exception: while the server has not answered the
		// proxy's SYN, a client's keep-alive (sequence number the ISN)
		// keeps its connection, unchanged and uncounted, so that the
		// SYNPROXY hook can send the SYN again.
		if status&statusSynproxy != 0 && oldState == TCPSynSent && index == tcpIndexACK && dir == Original &&
			t.lastDir == Original && t.seen[dir].end-1 == p.Seq {
			return tcpResult{}
		}
		return tcpResult{Invalid: true, Reason: tcpPacketReasons[1][dir][index][oldState]}
	case TCPTimeWait:
		// RFC 5961 4: a stack answers a spurious SYN with a challenge
		// ACK. In LAST_ACK, that ACK must not be taken for the ACK of
		// the last FIN.
		if oldState == TCPLastAck && index == tcpIndexACK && t.lastDir != dir &&
			t.lastIndex == tcpIndexSYN && t.lastOpt&tcpFlagExpChallengeAck != 0 {
			t.lastOpt &^= tcpFlagExpChallengeAck
			return tcpResult{Reason: reasonChallengeAck}
		}
	case TCPSynSent2:
		// The table alone cannot follow a simultaneous open.
		t.lastOpt |= tcpFlagSimultaneousOpen
	case TCPSynRecv:
		if dir == Reply && index == tcpIndexACK && t.lastOpt&tcpFlagSimultaneousOpen != 0 {
			newState = TCPEstablished
		}
	case TCPClose:
		if index != tcpIndexRST {
			break
		}
		skip, invalid := t.checkRST(p, dir, status, cfg, oldState, &newState)
		if invalid {
			return tcpResult{Invalid: true, Reason: reasonInvalidRST}
		}
		if skip {
			return t.accept(p, dir, index, status, cfg, to, oldState, newState)
		}
	}

	switch action, reason := t.inWindow(p, dir, index, cfg, ackOff); action {
	case tcpIgnore:
		return tcpResult{Reason: reason}
	case tcpInvalid:
		res = tcpResult{Invalid: true, Reason: reason}
		t.handleInvalid(dir, index, status, to, &res)
		return res
	}
	return t.accept(p, dir, index, status, cfg, to, oldState, newState)
}

// ignore is the kernel's IGNORE case: the packet passes but leaves the
// state alone, because our entry may be out of sync with the endpoints.
// Its details are kept so that the answer to it can resync the entry:
// the SYN/ACK to an ignored SYN, or the RST to an ignored SYN or ACK.
func (t *tcpTrack) ignore(p *packet.Packet, dir Dir, index uint8, oldState TCPState) tcpResult {
	t.lastIndex = index
	t.lastDir = dir
	t.setLast(p.Seq, segEnd(p))
	t.lastWin = p.Window
	if index == tcpIndexSYN && dir == Original {
		// A SYN the server may answer with a SYN/ACK: keep its
		// options for the resync. In LAST_ACK it may instead get an
		// RFC 5961 challenge ACK, which must not end the connection.
		scale, flags, _ := tcpSynOptions(p)
		opt := flags & (tcpFlagWindowScale | tcpFlagSACKPerm)
		if flags&tcpFlagWindowScale != 0 {
			opt |= scale << 2
		}
		if oldState == TCPLastAck {
			opt |= tcpFlagExpChallengeAck
		}
		t.lastOpt = opt
	}
	if oldState == TCPSynSent && index == tcpIndexACK && dir == Reply {
		// Possibly a challenge ACK to the SYN; a RST from the client
		// with this sequence number may follow.
		t.lastAck = p.Ack
	}
	return tcpResult{Reason: tcpPacketReasons[0][dir][index][oldState]}
}

// checkRST is the kernel's validation of a RST that would close the
// connection. skip reports that the RST is accepted without the window
// check (it answers something we let through, or the connection is
// closing anyway); invalid that it is INVALID. It may set *newState back
// to oldState, to keep an established connection open for a possible
// challenge ACK (RFC 5961 3.2) when the RST's seq is in window but not
// exact.
func (t *tcpTrack) checkRST(p *packet.Packet, dir Dir, status Status, cfg *TCPConfig, oldState TCPState, newState *TCPState) (skip, invalid bool) {
	switch t.state {
	case TCPFinWait, TCPLastAck, TCPTimeWait, TCPClose, TCPCloseWait:
		// tcp_can_early_drop: the tuple may already be reused by a
		// new connection, so the window data is stale.
		return true, false
	}
	established := t.state == TCPEstablished && status&StatusAssured != 0
	other := &t.seen[1-dir]
	// td_maxack may be stale if a SYN went through since.
	if t.flags[1-dir]&tcpFlagMaxAckSet != 0 && t.lastIndex != tcpIndexSYN {
		seq := p.Seq
		if seq == 0 && !established {
			// Most likely the answer to a SYN we let through: on to
			// the window check.
			return false, false
		}
		if before(seq, other.maxAck) && !cfg.IgnoreInvalidRST {
			return false, true
		}
		if !established || seq == other.maxAck {
			return false, false
		}
		if t.lastIndex == tcpIndexACK && t.lastDir == dir && seq == t.lastEnd() {
			// The RST ends a train of data from the same side.
			return false, false
		}
		// In window but not exact: keep the connection open.
		*newState = oldState
	}
	ackSeq := p.Ack
	if (status&StatusSeenReply != 0 && t.lastIndex == tcpIndexSYN ||
		status&StatusAssured == 0 && t.lastIndex == tcpIndexACK) && ackSeq == t.lastEnd() {
		// The RST answers a SYN or ACK we ignored (a half-open
		// connection): the window check would fail on what we never
		// tracked.
		return true, false
	}
	if oldState == TCPSynSent && t.lastIndex == tcpIndexACK && t.lastDir == Reply && p.Seq == t.lastAck {
		// The RST answers a challenge ACK we let through.
		return true, false
	}
	return false, false
}

// accept is the end of nf_conntrack_tcp_packet for an in-window packet:
// the new state, its timeout with the RETRANS and UNACK caps, and what
// the entry's status implies (ASSURED, or a kill for a RST before any
// reply).
func (t *tcpTrack) accept(p *packet.Packet, dir Dir, index uint8, status Status, cfg *TCPConfig, to *Timeouts, oldState, newState TCPState) tcpResult {
	t.lastIndex = index
	t.lastDir = dir
	t.state = newState
	if oldState != newState && newState == TCPFinWait {
		t.flags[dir] |= tcpFlagCloseInit
	}

	timeout := to.TCP[newState]
	switch {
	case t.retrans >= cfg.maxRetrans() && timeout > to.TCPRetrans:
		timeout = to.TCPRetrans
	case index == tcpIndexRST:
		timeout = to.TCP[TCPClose]
	case (t.flags[0]|t.flags[1])&tcpFlagDataUnacknowledged != 0 && timeout > to.TCPUnack:
		timeout = to.TCPUnack
	case t.lastWin == 0 && timeout > to.TCPRetrans:
		timeout = to.TCPRetrans
	}

	res := tcpResult{Timeout: timeout}
	if status&StatusSeenReply == 0 {
		if p.TCPFlags&packet.TCPRst != 0 {
			// Only a RST came back, or the client gave up: a common
			// case, so drop the entry at once.
			res.Kill = true
			return res
		}
		if index == tcpIndexSYN && oldState == TCPSynSent {
			// Do not renew the timeout on a retransmitted SYN, or a
			// client or NAT reusing the port would keep the entry
			// alive forever.
			res.Timeout = 0
			return res
		}
		// ESTABLISHED without a reply is a mid-stream pickup: not
		// worth days.
		if newState == TCPEstablished && timeout > to.TCPUnack {
			res.Timeout = to.TCPUnack
		}
	} else if status&StatusAssured == 0 && (oldState == TCPSynRecv || oldState == TCPEstablished) && newState == TCPEstablished {
		// A valid ACK after SYN_RECV, or an answer in a picked-up
		// connection.
		res.Assured = true
	}
	return res
}
