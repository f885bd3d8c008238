package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// The packet syntax of nfgo trace and of the conntrack scenarios:
//
//	SRC[:PORT] > DST[:PORT] PROTO [FLAGS] [key=value ...]
//
// with IPv6 endpoints with a port in brackets ([2001:db8::1]:80), PROTO
// tcp, udp, icmp (ICMPv6 over IPv6), sctp or dccp, FLAGS TCP flags (S,
// SA, A, PA, FA, R, or none), SCTP chunks (see sctpSpec) or a DCCP packet
// type (REQUEST, RESPONSE, DATA, ACK, …, see dccpTypeNames), and the keys seq
// ack win len ttl mss wscale type code id icmpseq, vtag and itag (SCTP's
// verification tag and the initiate tag of its INIT and INIT ACK
// chunks), about=N (an ICMP error about packet N of the sequence),
// trunc=N (cut the packet to N bytes) and badsum (corrupt the L4
// checksum).

// parseEndpoint reads ADDR, ADDR:PORT or [ADDR]:PORT.
func parseEndpoint(s string) (netip.Addr, uint16, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), ap.Port(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0, nil
	}
	host, port, ok := strings.Cut(s, ":")
	if ok && strings.Count(s, ":") == 1 {
		a, err := netip.ParseAddr(host)
		p, err2 := strconv.ParseUint(port, 10, 16)
		if err == nil && err2 == nil {
			return a, uint16(p), nil
		}
	}
	return netip.Addr{}, 0, fmt.Errorf("bad endpoint %q", s)
}

// parsePacketLine builds one packet: "SRC > DST PROTO [FLAGS] [k=v ...]".
func parsePacketLine(line string, earlier [][]byte) ([]byte, error) {
	f := strings.Fields(line)
	if len(f) < 4 || f[1] != ">" {
		return nil, fmt.Errorf("want SRC > DST PROTO ..., got %q", line)
	}
	src, sport, err := parseEndpoint(f[0])
	if err != nil {
		return nil, err
	}
	dst, dport, err := parseEndpoint(f[2])
	if err != nil {
		return nil, err
	}
	if src.Is4() != dst.Is4() {
		return nil, fmt.Errorf("%v and %v are of different families", src, dst)
	}
	switch f[3] {
	case "tcp", "udp", "icmp", "sctp", "dccp":
	default:
		return nil, fmt.Errorf("protocol %q: want tcp, udp, icmp, sctp or dccp", f[3])
	}
	s := testpkt.Spec{Src: src, Dst: dst, Proto: f[3], SrcPort: sport, DstPort: dport}
	rest := f[4:]
	dccpType := -1
	if s.Proto == "dccp" {
		if len(rest) == 0 {
			return nil, fmt.Errorf("dccp needs its packet type, one of %s", strings.Join(dccpTypeNames[:], ", "))
		}
		for i, n := range dccpTypeNames {
			if n == rest[0] {
				dccpType = i
			}
		}
		if dccpType < 0 {
			return nil, fmt.Errorf("DCCP packet type %q: want one of %s", rest[0], strings.Join(dccpTypeNames[:], ", "))
		}
		rest = rest[1:]
	}
	var sctp *sctpSpec
	if s.Proto == "sctp" {
		if len(rest) == 0 || strings.Contains(rest[0], "=") {
			return nil, fmt.Errorf("sctp needs its chunks, e.g. INIT or DATA,SACK")
		}
		sctp = &sctpSpec{}
		if err := sctp.parseChunks(rest[0]); err != nil {
			return nil, err
		}
		rest = rest[1:]
	}
	if s.Proto == "tcp" && len(rest) > 0 && !strings.Contains(rest[0], "=") && rest[0] != "badsum" {
		if rest[0] != "none" {
			if strings.Trim(rest[0], "SAFRPUEC") != "" {
				return nil, fmt.Errorf("TCP flags %q: want letters of SAFRPUEC", rest[0])
			}
			s.Flags = rest[0]
		}
		rest = rest[1:]
	}
	trunc, badsum := 0, false
	for _, kv := range rest {
		if kv == "badsum" {
			badsum = true
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("bad option %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("option %q: %v", kv, err)
		}
		switch k {
		case "vtag", "itag":
			if sctp == nil {
				return nil, fmt.Errorf("option %q is SCTP's", k)
			}
			if k == "vtag" {
				sctp.vtag = uint32(n)
			} else {
				sctp.itag = uint32(n)
			}
		case "seq":
			s.Seq = uint32(n)
		case "ack":
			s.Ack = uint32(n)
		case "win":
			s.Window = uint16(n)
		case "len":
			s.Payload = make([]byte, n)
		case "ttl":
			s.TTL = uint8(n)
		case "mss":
			s.MSS = uint16(n)
		case "wscale":
			s.WScale = uint8(n)
			s.HasWScale = true
		case "type":
			s.ICMPType = uint8(n)
		case "code":
			s.ICMPCode = uint8(n)
		case "id":
			s.ICMPID = uint16(n)
		case "icmpseq":
			s.ICMPSeq = uint16(n)
		case "about":
			if int(n) >= len(earlier) {
				s.Payload = testpkt.Build(testpkt.Spec{Src: dst, Dst: src, Proto: "udp", SrcPort: 1, DstPort: uint16(n)})
			} else {
				s.Payload = earlier[n]
			}
		case "trunc":
			trunc = int(n)
		default:
			return nil, fmt.Errorf("unknown option %q", k)
		}
	}
	if sctp != nil {
		s.Proto, s.RawProto = "raw", 132
		s.Payload = sctp.build(sport, dport, len(s.Payload), badsum)
		badsum = false
	}
	if dccpType >= 0 {
		s.Proto, s.RawProto = "raw", 33
		s.Payload = dccpPacket(sport, dport, uint8(dccpType), s.Seq, s.Payload)
	}
	b, err := build(s)
	if err != nil {
		return nil, err
	}
	if dccpType >= 0 {
		var p packet.Packet
		p.Decode(b)
		p.ComputeChecksums()
		if badsum {
			b[len(b)-len(p.L4())+6] ^= 1
			badsum = false
		}
	}
	if badsum {
		// Flip a bit of the transport checksum field (never leaving a
		// UDP checksum of 0, which means "none").
		l4 := 20
		if b[0]>>4 == 6 {
			l4 = 40
		}
		off := map[string]int{"tcp": 16, "udp": 6, "icmp": 2}[s.Proto]
		b[l4+off+1] ^= 0x01
		if b[l4+off] == 0 && b[l4+off+1] == 0 {
			b[l4+off+1] = 0x02
		}
	}
	if trunc > 0 {
		ipLen := 20
		if b[0]>>4 == 6 {
			ipLen = 40
		}
		if trunc < ipLen || trunc > len(b) {
			return nil, fmt.Errorf("trunc=%d: want %d to %d bytes", trunc, ipLen, len(b))
		}
		b = testpkt.Truncate(b, trunc)
	}
	return b, nil
}

// build serialises a packet spec, turning the serialiser's refusal into
// an error.
func build(s testpkt.Spec) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot build the packet: %v", r)
		}
	}()
	return testpkt.Build(s), nil
}

// sctpSpec is an SCTP packet of the packet syntax: its chunks, each a
// name of sctpChunkTypes, with ":T" for the T flag (ABORT, SHUTDOWN
// COMPLETE), in a comma list; its verification tag (vtag=); and the
// initiate tag of its INIT and INIT ACK chunks (itag=). A DATA chunk
// carries len= bytes.
type sctpSpec struct {
	chunks     []testpkt.SCTPChunk
	vtag, itag uint32
}

// sctpChunkTypes are the chunk names, as iptables' sctp match names them.
var sctpChunkTypes = map[string]uint8{
	"DATA": 0, "INIT": 1, "INIT_ACK": 2, "SACK": 3, "HEARTBEAT": 4, "HEARTBEAT_ACK": 5, "ABORT": 6,
	"SHUTDOWN": 7, "SHUTDOWN_ACK": 8, "ERROR": 9, "COOKIE_ECHO": 10, "COOKIE_ACK": 11, "SHUTDOWN_COMPLETE": 14,
}

func (sp *sctpSpec) parseChunks(list string) error {
	for _, name := range strings.Split(list, ",") {
		name, t := strings.CutSuffix(name, ":T")
		typ, ok := sctpChunkTypes[name]
		if !ok {
			return fmt.Errorf("SCTP chunk %q: want one of DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT, SHUTDOWN, SHUTDOWN_ACK, ERROR, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE", name)
		}
		c := testpkt.SCTPChunk{Type: typ}
		if t {
			c.Flags = 1
		}
		sp.chunks = append(sp.chunks, c)
	}
	return nil
}

// build serialises the SCTP packet.
func (sp *sctpSpec) build(sport, dport uint16, dataLen int, badsum bool) []byte {
	return testpkt.SCTP(sport, dport, sp.vtag, sp.itag, sp.chunks, dataLen, badsum)
}

// dccpTypeNames are DCCP's packet types (RFC 4340 5.1), by number.
var dccpTypeNames = [...]string{"REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK"}

// dccpPacket builds a DCCP packet of type typ with 48-bit sequence
// numbers: the generic header, the acknowledgement subheader of the
// types that have one, a service code for REQUEST and RESPONSE, and the
// data. The checksum is left to the caller.
func dccpPacket(sport, dport uint16, typ uint8, seq uint32, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = append(b, 0, 0, 0, 0, typ<<1|1, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, seq)
	if typ != 0 && typ != 2 { // all but REQUEST and DATA acknowledge
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 1)
	}
	if typ <= 1 {
		b = binary.BigEndian.AppendUint32(b, 42) // the service code
	}
	b[4] = uint8(len(b) / 4) // the data offset, in words
	return append(b, data...)
}
