package iptables

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// FuzzRead feeds arbitrary text to the ruleset reader. It must never
// panic, and whatever it accepts and validates must save to text that
// reads back and saves identically (the writer's output is canonical).
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob("../../cmd/nfgo/example/*.rules*")
	seeds2, _ := filepath.Glob("../../cmd/nfgo/testdata/kernel/*.rules*")
	for _, s := range append(seeds, seeds2...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(string(b), s[len(s)-1] == '6')
		}
	}
	f.Add("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", false)
	f.Add("*nat\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n", false)
	f.Add("*filter\n-A INPUT -m comment --comment \"x \\\" y\" -j DROP\nCOMMIT\n", true)
	f.Fuzz(func(t *testing.T, text string, v6 bool) {
		fam := packet.IPv4
		if v6 {
			fam = packet.IPv6
		}
		rs, err := Parse(strings.NewReader(text), fam)
		if err != nil {
			return
		}
		if _, err := filter.Compile(rs); err != nil {
			return
		}
		saved := String(rs)
		again, err := Parse(strings.NewReader(saved), fam)
		if err != nil {
			t.Fatalf("saved text does not read back: %v\n%s", err, saved)
		}
		if s2 := String(again); s2 != saved {
			t.Fatalf("save is not canonical:\nfirst:\n%s\nsecond:\n%s", saved, s2)
		}
	})
}
