package main

import "testing"

// FuzzParsePacketLine feeds nfgo trace's packet syntax arbitrary lines:
// an error is fine, a panic is not, and a packet it builds decodes.
func FuzzParsePacketLine(f *testing.F) {
	for _, s := range []string{
		"198.51.100.7:40000 > 192.0.2.1:22 tcp S",
		"10.0.0.5 > 8.8.8.8 icmp type=8 id=1 icmpseq=2",
		"[2001:db8::1]:80 > [2001:db8::2]:443 tcp SA seq=1 ack=2 win=100 mss=1460 wscale=7",
		"10.1.0.5:5002 > 198.51.100.10:53 udp len=20 ttl=1 badsum trunc=30",
		"198.51.100.10 > 10.1.0.5 icmp type=3 code=3 about=0",
		"10.0.0.1 > 2001:db8::1 tcp S",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = parsePacketLine(line, [][]byte{{0x45, 0, 0, 20}})
	})
}
