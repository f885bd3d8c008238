package iptables

import (
	"sort"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// FuzzParseMatchOptions feeds option words to every registered match
// parser: none may panic, and whatever parses must save to text that
// parses back to the same saved text.
func FuzzParseMatchOptions(f *testing.F) {
	seeds := []string{
		"--dport 80", "! --sport 1:1024 --syn", "--tcp-flags SYN,ACK SYN --tcp-option 2",
		"--icmp-type 3/3", "--icmpv6-type echo-request", "--dports 80,443:450",
		"--mark 0x10/0xf0", "--state NEW,ESTABLISHED", "--ctstate NEW --ctorigsrc 10.0.0.0/8 --ctexpire 10:20",
		"--ctproto udp --ctorigdstport 53 --ctdir REPLY", "--src-range 10.0.0.1-10.0.0.9",
		"--length 40:1500", "--src-type LOCAL --limit-iface-in", "--pkt-type multicast", "--ttl-lt 5",
		"--hl-eq 255", "--tos Minimize-Delay", "--dscp-class EF", "--ecn-tcp-ece --ecn-ip-ect 2",
		"--limit 5/sec --limit-burst 10", "--mode nth --every 3 --packet 1", "--mode random --probability 0.25",
		"--timestart 23:00 --timestop 01:00 --contiguous --weekdays Mon,Fri --monthdays 1,31 --datestart 2020-02-30T10",
		"--connlimit-upto 3 --connlimit-mask 24 --connlimit-daddr", "--helper ftp", "--helper \"a b\"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	type use struct {
		name   string
		family packet.Family
	}
	var uses []use
	for _, e := range extList {
		if e.target {
			continue
		}
		if e.family != 0 {
			uses = append(uses, use{e.name, e.family})
			continue
		}
		uses = append(uses, use{e.name, packet.IPv4}, use{e.name, packet.IPv6})
	}
	sort.Slice(uses, func(i, j int) bool {
		if uses[i].name != uses[j].name {
			return uses[i].name < uses[j].name
		}
		return uses[i].family < uses[j].family
	})
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitWords(s)
		if err != nil {
			return
		}
		for _, u := range uses {
			name, family := u.name, u.family
			_, saved, err := parseMatchWords(name, family, words)
			if err != nil {
				continue
			}
			again, err := SplitWords(saved)
			if err != nil {
				t.Fatalf("%s: saved text %q does not split: %v", name, saved, err)
			}
			_, saved2, err := parseMatchWords(name, family, again)
			if err != nil {
				t.Fatalf("%s: %q saved as %q, which does not parse: %v", name, s, saved, err)
			}
			if saved2 != saved {
				t.Fatalf("%s: %q saved as %q, then as %q", name, s, saved, saved2)
			}
		}
	})
}
