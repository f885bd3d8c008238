package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// scenario is a named packet sequence from a testdata/conntrack/*.scn
// file.
type scenario struct {
	name    string
	pos     string
	packets [][]byte
	lines   []string
}

// loadScenarios parses a scenario file: "scenario NAME" starts one, and
// each other line is a packet (see udp-icmp.scn for the syntax).
func loadScenarios(t *testing.T, path string) []scenario {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []scenario
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if name, ok := strings.CutPrefix(line, "scenario "); ok {
			out = append(out, scenario{name: name, pos: fmt.Sprintf("%s:%d", path, n)})
			continue
		}
		if len(out) == 0 {
			t.Fatalf("%s:%d: packet before the first scenario", path, n)
		}
		s := &out[len(out)-1]
		b, err := parsePacketLine(line, s.packets)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		s.packets = append(s.packets, b)
		s.lines = append(s.lines, line)
	}
	return out
}

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
	s := testpkt.Spec{Src: src, Dst: dst, Proto: f[3], SrcPort: sport, DstPort: dport}
	rest := f[4:]
	if s.Proto == "tcp" && len(rest) > 0 && !strings.Contains(rest[0], "=") {
		if rest[0] != "none" {
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
	b := testpkt.Build(s)
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
		b = testpkt.Truncate(b, trunc)
	}
	return b, nil
}
