package conntrack

import (
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// fuzzSegLen is the number of fuzz bytes that describe one segment.
const fuzzSegLen = 12

// buildFuzzSegment writes an IPv4 TCP segment described by rec into buf
// and returns it. The sequence and acknowledgment numbers are mostly
// offsets from what the tracker has seen, so that the fuzzer spends its
// time near the window edges where the interesting decisions are; one
// bit in eight asks for raw 32-bit values instead.
//
//	rec[0]  bit 0 direction, bit 1 raw seq/ack, bit 2 skip tcpError
//	rec[1]  TCP flags
//	rec[2:4] seq offset (int16) or raw seq high half
//	rec[4:6] ack offset (int16) or raw ack high half
//	rec[6:8] window
//	rec[8]  payload length (0-255)
//	rec[9]  options: bit 0 window scale, 1 SACK-permitted, 2 SACK, 3 timestamps
//	rec[10] window scale shift; rec[11] SACK right edge offset
func buildFuzzSegment(buf []byte, rec []byte, tr *tcpTrack, dir Dir) []byte {
	seq := tr.seen[dir].end + uint32(int32(int16(binary.BigEndian.Uint16(rec[2:4]))))
	ack := tr.seen[1-dir].end + uint32(int32(int16(binary.BigEndian.Uint16(rec[4:6]))))
	if rec[0]&2 != 0 {
		seq = uint32(binary.BigEndian.Uint16(rec[2:4]))<<16 | uint32(rec[10])
		ack = uint32(binary.BigEndian.Uint16(rec[4:6]))<<16 | uint32(rec[11])
	}
	var opts []byte
	var ob [40]byte
	opts = ob[:0]
	if rec[9]&1 != 0 {
		opts = append(opts, packet.TCPOptionNOP, packet.TCPOptionWindowScale, 3, rec[10]&0x1f)
	}
	if rec[9]&2 != 0 {
		opts = append(opts, packet.TCPOptionNOP, packet.TCPOptionNOP, packet.TCPOptionSACKPermitted, 2)
	}
	if rec[9]&4 != 0 {
		opts = append(opts, packet.TCPOptionNOP, packet.TCPOptionNOP, packet.TCPOptionSACK, 10)
		opts = binary.BigEndian.AppendUint32(opts, ack)
		opts = binary.BigEndian.AppendUint32(opts, ack+uint32(int32(int8(rec[11]))))
	}
	if rec[9]&8 != 0 {
		opts = append(opts, packet.TCPOptionNOP, packet.TCPOptionNOP, packet.TCPOptionTimestamps, 10, 0, 0, 0, 1, 0, 0, 0, 2)
	}
	payload := int(rec[8])
	total := 20 + 20 + len(opts) + payload
	b := buf[:total]
	clear(b)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	b[8], b[9] = 64, packet.ProtoTCP
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	sport, dport := uint16(40000), uint16(80)
	if dir == Reply {
		src, dst, sport, dport = dst, src, dport, sport
	}
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	t := b[20:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = uint8((20+len(opts))/4) << 4
	t[13] = rec[1]
	binary.BigEndian.PutUint16(t[14:], binary.BigEndian.Uint16(rec[6:8]))
	copy(t[20:], opts)
	return b
}

// FuzzTCPTracker feeds random sequences of segments in both directions to
// start and update, as the table does, and checks the tracker's
// invariants: it never panics; the state is always a real one; an
// accepted packet gets a timeout unless the kernel would leave the
// timeout alone; and an INVALID packet leaves the state as it was, byte
// for byte, except where the kernel itself records something on the way
// to that verdict.
func FuzzTCPTracker(f *testing.F) {
	hs := []byte{
		// SYN, SYN/ACK, ACK, data, ACK, FIN, FIN, ACK.
		0, packet.TCPSyn, 0, 0, 0, 0, 0xfa, 0xf0, 0, 3, 7, 0,
		1, packet.TCPSyn | packet.TCPAck, 0, 0, 0, 0, 0xfa, 0xf0, 0, 3, 7, 0,
		0, packet.TCPAck, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0,
		0, packet.TCPAck | packet.TCPPsh, 0, 0, 0, 0, 0x01, 0x00, 100, 0, 0, 0,
		1, packet.TCPAck, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0,
		0, packet.TCPFin | packet.TCPAck, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0,
		1, packet.TCPFin | packet.TCPAck, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0,
		0, packet.TCPAck, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0,
		0, packet.TCPSyn, 0x10, 0, 0, 0, 0xfa, 0xf0, 0, 0, 0, 0,
	}
	f.Add(byte(0), hs)
	f.Add(byte(0x02), hs)
	f.Add(byte(0x01), []byte{
		0, packet.TCPAck, 0, 0, 0, 0, 0x10, 0x00, 10, 2, 0, 0,
		1, packet.TCPRst, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0,
	})
	f.Add(byte(0), []byte{
		0, packet.TCPSyn, 0, 0, 0, 0, 0xfa, 0xf0, 0, 0, 0, 0,
		1, packet.TCPSyn, 0, 0, 0, 0, 0xfa, 0xf0, 0, 0, 0, 0,
		0, packet.TCPSyn | packet.TCPAck, 0, 0, 0, 0, 0xfa, 0xf0, 0, 0, 0, 0,
		1, packet.TCPAck, 0, 0, 0, 0, 0xfa, 0xf0, 0, 4, 0, 20,
		1, packet.TCPRst | packet.TCPAck, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	})
	f.Fuzz(func(t *testing.T, cfgBits byte, data []byte) {
		cfg := TCPConfig{
			NoLoose:          cfgBits&1 != 0,
			BeLiberal:        cfgBits&2 != 0,
			IgnoreInvalidRST: cfgBits&4 != 0,
			MaxRetrans:       cfgBits >> 4 & 3,
		}
		to := DefaultTimeouts()
		var (
			tr     tcpTrack
			live   bool
			status Status
			buf    [20 + 60 + 255]byte
			p      packet.Packet
		)
		for ; len(data) >= fuzzSegLen; data = data[fuzzSegLen:] {
			rec := data[:fuzzSegLen]
			dir := Dir(rec[0] & 1)
			if !live {
				dir = Original
			}
			p.Decode(buildFuzzSegment(buf[:], rec, &tr, dir))
			if p.Invalid != packet.OK {
				t.Fatalf("fuzz segment does not decode: %v", p.Invalid)
			}
			if tcpError(&p, false) != "" && rec[0]&4 == 0 {
				continue
			}
			if !live {
				if tr.start(&p, &cfg) != "" {
					continue
				}
				status = 0
			}
			before := tr
			index := tcpIndex(p.TCPFlags)
			res := tr.update(&p, dir, status, &cfg, &to, 0)
			if tr.State() >= tcpStateCount {
				t.Fatalf("state %d out of range", tr.State())
			}
			switch {
			case res.Invalid:
				if tr.State() != before.State() {
					t.Fatalf("invalid packet (%s) moved %v to %v", res.Reason, before.State(), tr.State())
				}
				mayRecord := p.TCPFlags&packet.TCPSyn != 0 || before.seen[dir].maxWin == 0 ||
					tcpConntracks[dir][index][before.state] == TCPSynSent2 ||
					status&StatusAssured != 0 && (index == tcpIndexFIN || index == tcpIndexRST)
				if !mayRecord && tr != before {
					t.Fatalf("invalid packet (%s) changed the state:\n%+v\n%+v", res.Reason, before, tr)
				}
				continue
			case res.Repeat:
				// The caller deletes the entry and starts over with
				// the same packet in the original direction.
				if tr.start(&p, &cfg) != "" {
					live = false
					continue
				}
				status, dir = 0, Original
				if res = tr.update(&p, Original, 0, &cfg, &to, 0); res.Invalid || res.Repeat {
					live = false
					continue
				}
			}
			synRetrans := index == tcpIndexSYN && before.state == TCPSynSent && status&StatusSeenReply == 0
			if res.Timeout <= 0 && res.Reason == "" && !synRetrans {
				t.Fatalf("accepted packet with timeout %v in %v", res.Timeout, tr.State())
			}
			if res.Assured && tr.State() != TCPEstablished {
				t.Fatalf("ASSURED in %v", tr.State())
			}
			if res.Kill && p.TCPFlags&packet.TCPRst == 0 {
				t.Fatalf("kill without RST")
			}
			live = !res.Kill
			if dir == Reply {
				status |= StatusSeenReply
			}
			if res.Assured {
				status |= StatusAssured
			}
		}
	})
}
