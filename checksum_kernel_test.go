package nfgo_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// checksumRules fill the TCP checksums and UDP port 68's, as a host
// serving DHCP to guests does; other partial checksums are left to the
// card.
const checksumRules = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -p tcp -j CHECKSUM --checksum-fill
-A POSTROUTING -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill
COMMIT
`

// partial makes a built packet's transport checksum partial, as a guest
// hands it over: the field holds the pseudo-header's folded sum. It
// returns the checksum's start and offset.
func partial(b []byte) (start, offset int) {
	var pseudo []byte
	var proto byte
	l4 := 20
	if b[0]>>4 == 6 {
		l4, proto = 40, b[6]
		pseudo = append(append(pseudo, b[8:40]...), 0, 0)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(b)-40))
		pseudo = append(pseudo, 0, 0, 0, proto)
	} else {
		proto = b[9]
		pseudo = append(append(pseudo, b[12:20]...), 0, proto)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(b)-20))
	}
	offset = 16
	if proto == packet.ProtoUDP {
		offset = 6
	}
	binary.BigEndian.PutUint16(b[l4+offset:], ^packet.Checksum(pseudo, 0))
	return l4, offset
}

// TestChecksumFillMatchesKernel sends packets with partial checksums
// (CHECKSUM_PARTIAL, from a TUN device with a virtio_net_hdr) through a
// kernel router and through nfgo's Path with the same -j CHECKSUM
// rules: the bytes that leave, and whether their checksum is still
// partial, must be the kernel's. One TCP payload sums to a checksum of
// 0, which the kernel writes as 0xffff.
func TestChecksumFillMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore")
	var pkts [][]byte
	for i, dst := range []string{"203.0.113.9", "2001:db8:77::9"} {
		src := "198.18.0.7"
		if i == 1 {
			src = "2001:db8:1::7"
		}
		for _, s := range []testpkt.Spec{
			{Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "PA", Seq: 7, Ack: 9, Payload: []byte("GET / HTTP/1.0\r\n\r\n")},
			{Proto: "tcp", SrcPort: 40001, DstPort: 443, Flags: "S", Seq: 1, MSS: 1460},
			{Proto: "udp", SrcPort: 67, DstPort: 68, Payload: []byte("a DHCP offer")},
			{Proto: "udp", SrcPort: 5000, DstPort: 53, Payload: []byte("left to the card")},
		} {
			s.Src, s.Dst = a(src), a(dst)
			pkts = append(pkts, testpkt.Build(s))
		}
	}
	// A TCP segment whose checksum comes to 0: two payload bytes make
	// the sum 0xffff.
	zero := testpkt.Build(testpkt.Spec{Src: a("198.18.0.7"), Dst: a("203.0.113.9"), Proto: "tcp", SrcPort: 40002, DstPort: 80, Flags: "PA", Seq: 1, Ack: 1, Payload: []byte{0, 0, 'x', 'y'}})
	var p packet.Packet
	p.Decode(zero)
	c := binary.BigEndian.Uint16(zero[36:])
	// The checksum c is ^sum; adding c to the payload's first word makes
	// the sum 0xffff and the checksum 0.
	binary.BigEndian.PutUint16(zero[40:], c)
	zero[36], zero[37] = 0, 0
	p.Decode(zero)
	p.ComputeChecksums()
	if got := binary.BigEndian.Uint16(p.Bytes()[36:]); got != 0 && got != 0xffff {
		t.Fatalf("the zero-sum segment's checksum is %#x", got)
	}
	pkts = append(pkts, append([]byte(nil), p.Bytes()...))

	e := nfgo.New(nfgo.Config{Host: routerHost})
	for _, f := range []packet.Family{packet.IPv4, packet.IPv6} {
		rs, err := iptables.Parse(strings.NewReader(checksumRules), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
	}
	r := kernel.NewRouter(t, kernel.RouterOptions{PartialChecksums: true})
	for _, six := range []bool{false, true} {
		if err := r.Restore([]byte(checksumRules), six); err != nil {
			t.Fatal(err)
		}
	}
	filled := 0
	for i, b := range pkts {
		start, offset := partial(b)
		fate, err := r.SendPartial(b, start, offset)
		if err != nil {
			t.Fatal(err)
		}
		if len(fate.Emitted) != 1 {
			t.Fatalf("packet %d: the kernel forwarded %d packets", i, len(fate.Emitted))
		}
		var q packet.Packet
		q.Decode(append([]byte(nil), b...))
		q.PartialChecksum = true
		v := e.Path(&q, nfgo.Meta{In: "eth0"})
		if v.Action != filter.Accept {
			t.Fatalf("packet %d: nfgo: %v", i, v)
		}
		if got, want := q.Bytes(), fate.Emitted[0]; !bytes.Equal(got, want) {
			t.Errorf("packet %d: nfgo sends\n% x\nthe kernel\n% x", i, got, want)
		}
		if q.PartialChecksum != fate.EmittedPartial[0] {
			t.Errorf("packet %d: nfgo's checksum partial %v, the kernel's %v", i, q.PartialChecksum, fate.EmittedPartial[0])
		}
		if !fate.EmittedPartial[0] {
			filled++
		}
	}
	// Both kinds are needed for the comparison to test the target.
	if filled == 0 || filled == len(pkts) {
		t.Errorf("%d of %d checksums filled", filled, len(pkts))
	}
}
