package synproxy

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// synproxyRouter is a kernel router set up as SYNPROXY's users set one
// up: SYNs untracked, loose pickup off (so that a client's ACK of a
// cookie is INVALID), and the filter rules given, for both families.
func synproxyRouter(t *testing.T, filterRules string) *kernel.Router {
	t.Helper()
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore")
	r := kernel.NewRouter(t, kernel.RouterOptions{LocalReplies: true, Conntrack: true})
	if _, err := r.Exec("sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0", nil); err != nil {
		t.Fatal(err)
	}
	rules := "*raw\n-A PREROUTING -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n*filter\n" + filterRules + "COMMIT\n"
	for _, six := range []bool{false, true} {
		if err := r.Restore([]byte(rules), six); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestSYNACKMatchesKernel sends SYNs to a kernel router's SYNPROXY rule
// and builds nfgo's answer to each with the kernel's cookie and clock:
// the SYN/ACK must then be the kernel's byte for byte (addresses, ports,
// flags, window, TTL, ID, DF, the options' layout, the timestamp
// cookie's low bits, checksums). The kernel's cookies must also move as
// nfgo's do: with the ISN, and by the MSS table index.
func TestSYNACKMatchesKernel(t *testing.T) {
	r := synproxyRouter(t, "-A INPUT -p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1400 --ecn\n")
	info := Info{Options: OptMSS | OptWScale | OptSACKPerm | OptTimestamp | OptECN, WScale: 7, MSS: 1400}
	ts := []byte{8, 10, 0, 1, 0, 2, 0, 0, 0, 0}
	linux := append(append([]byte{2, 4, 5, 0xb4, 4, 2}, ts...), 1, 3, 3, 10)
	type syn struct {
		flags string
		isn   uint32
		opts  []byte
	}
	cookies := map[string]uint32{}
	for _, fam := range []struct{ src, dst string }{{"192.0.2.77", kernel.RouterAddr4}, {"2001:db8::77", kernel.RouterAddr6}} {
		for i, s := range []syn{
			{"S", 1000, linux},
			{"S", 1100, linux}, // the cookie moves by 100
			{"SEC", 1000, linux},
			{"S", 1000, []byte{2, 4, 5, 0x14, 1, 1, 1, 1}}, // MSS 1300, no timestamps
			{"S", 1000, nil},                               // no options: none back
			{"S", 1000, append([]byte{2, 4, 2, 0x18, 1, 1}, ts...)}, // MSS 536, timestamps only
		} {
			src, dst := netip.MustParseAddr(fam.src), netip.MustParseAddr(fam.dst)
			b := testpkt.Build(testpkt.Spec{Src: src, Dst: dst, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: s.flags, Seq: s.isn, Window: 64240, TCPOptions: s.opts})
			fate, err := r.Send(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(fate.Replies) != 1 {
				t.Fatalf("%s SYN %d: the kernel answered %d packets", fam.src, i, len(fate.Replies))
			}
			got := fate.Replies[0]
			var k packet.Packet
			k.Decode(append([]byte(nil), got...))
			th := k.TransportHeader()
			kOpts := ParseOptions(th[20 : int(th[12]>>4)*4])
			var p packet.Packet
			p.Decode(b)
			pth := p.TransportHeader()
			o := SYNACKOptions(pth[20:int(pth[12]>>4)*4], p.TCPFlags&packet.TCPEce != 0, p.TCPFlags&packet.TCPCwr != 0, info, kOpts.TSVal)
			seg := SYNACK(Flow{Src: src, Dst: dst, SrcPort: 40000, DstPort: 80}, s.isn, k.Seq, &o, 64)
			if mine := seg.Build(nil); !bytes.Equal(mine, got) {
				t.Errorf("%s SYN %d: nfgo\n% x\nthe kernel\n% x", fam.src, i, mine, got)
			}
			cookies[fam.src+string(rune('0'+i))] = k.Seq
		}
		c := func(i int) uint32 { return cookies[fam.src+string(rune('0'+i))] }
		if d := c(1) - c(0); d != 100 {
			t.Errorf("%s: ISN + 100 moved the kernel's cookie by %d", fam.src, int32(d))
		}
		// MSS 1300 against 1460: the difference of their table indexes
		// (IPv4 1 and 3, IPv6 0 and 2).
		f := Flow{Src: netip.MustParseAddr(fam.src)}
		want := int32(f.MSSIndex(1300) - f.MSSIndex(1460))
		if d := int32(c(3) - c(0)); d != want {
			t.Errorf("%s: MSS 1300 moved the kernel's cookie by %d, want %d", fam.src, d, want)
		}
	}
}
