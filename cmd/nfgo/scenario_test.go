package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
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
