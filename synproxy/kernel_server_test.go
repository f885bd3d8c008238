package synproxy

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// TestServerSYNMatchesKernel completes the client's side of a proxied
// handshake through a kernel router's SYNPROXY rule in FORWARD: the
// client's ACK of the cookie makes the kernel send the server a SYN,
// which nfgo's ServerSYN must equal byte for byte, given the MSS the
// cookie carried. A forged cookie opens nothing.
func TestServerSYNMatchesKernel(t *testing.T) {
	r := synproxyRouter(t, `-A FORWARD -p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1400
-A FORWARD -m conntrack --ctstate INVALID -j DROP
`)
	for i, fam := range []struct {
		src, dst string
		mss      uint16 // the client's, which the table keeps
	}{{"192.0.2.77", "203.0.113.9", 1460}, {"2001:db8::77", "2001:db8:77::9", 1440}} {
		src, dst := netip.MustParseAddr(fam.src), netip.MustParseAddr(fam.dst)
		port := uint16(41000 + i)
		syn := testpkt.Build(testpkt.Spec{Src: src, Dst: dst, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: "S", Seq: 5000, Window: 64240,
			TCPOptions: []byte{2, 4, byte(fam.mss >> 8), byte(fam.mss), 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 10}})
		fate, err := r.Send(syn)
		if err != nil {
			t.Fatal(err)
		}
		if len(fate.Replies) != 1 {
			t.Fatalf("%s: %d answers to the SYN", fam.src, len(fate.Replies))
		}
		var sa packet.Packet
		sa.Decode(append([]byte(nil), fate.Replies[0]...))
		th := sa.TransportHeader()
		saOpts := ParseOptions(th[20 : int(th[12]>>4)*4])
		// The client's ACK: NOP NOP and its timestamps, echoing the
		// cookie's.
		tsOpts := []byte{1, 1, 8, 10, 0, 0, 0x30, 0x3a, byte(saOpts.TSVal >> 24), byte(saOpts.TSVal >> 16), byte(saOpts.TSVal >> 8), byte(saOpts.TSVal)}
		ackSpec := testpkt.Spec{Src: src, Dst: dst, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: "A", Seq: 5001, Ack: sa.Seq + 1, Window: 502, TCPOptions: tsOpts}
		forged := ackSpec
		forged.Ack += 1 << 25 // another minute's high bits
		if fate, err = r.Send(testpkt.Build(forged)); err != nil {
			t.Fatal(err)
		}
		if len(fate.Emitted) != 0 {
			t.Errorf("%s: a forged cookie sent %d packets on", fam.src, len(fate.Emitted))
		}
		ack := testpkt.Build(ackSpec)
		if fate, err = r.Send(ack); err != nil {
			t.Fatal(err)
		}
		if len(fate.Emitted) != 1 {
			t.Fatalf("%s: the ACK made the kernel send %d packets to the server", fam.src, len(fate.Emitted))
		}
		var a packet.Packet
		a.Decode(ack)
		ath := a.TransportHeader()
		o := ServerSYNOptions(ath[20:int(ath[12]>>4)*4], fam.mss)
		seg := ServerSYN(Flow{Src: src, Dst: dst, SrcPort: port, DstPort: 80}, a.Seq, a.Ack, 502, &o, 64)
		if mine := seg.Build(nil); !bytes.Equal(mine, fate.Emitted[0]) {
			t.Errorf("%s: nfgo's SYN to the server\n% x\nthe kernel's\n% x", fam.src, mine, fate.Emitted[0])
		}
	}
}
