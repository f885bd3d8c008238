package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// The packet syntax of nfgo trace and of the conntrack scenarios:
//
//	SRC[:PORT] > DST[:PORT] PROTO [FLAGS] [key=value ...]
//
// with IPv6 endpoints with a port in brackets ([2001:db8::1]:80), PROTO
// tcp, udp or icmp (ICMPv6 over IPv6), FLAGS TCP flags (S, SA, A, PA,
// FA, R, or none), and the keys seq ack win len ttl mss wscale type code
// id icmpseq, about=N (an ICMP error about packet N of the sequence),
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
	case "tcp", "udp", "icmp":
	default:
		return nil, fmt.Errorf("protocol %q: want tcp, udp or icmp", f[3])
	}
	s := testpkt.Spec{Src: src, Dst: dst, Proto: f[3], SrcPort: sport, DstPort: dport}
	rest := f[4:]
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
	b, err := build(s)
	if err != nil {
		return nil, err
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
