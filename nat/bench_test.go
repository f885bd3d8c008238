package nat

import (
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// fill binds n UDP flows from a few clients to servers servers, all
// through one SNAT address, the way Select would.
func fill(b *testing.B, n, servers int, scatter bool) (*fakeConns, Range) {
	c := newFakeConns()
	r := addrRange("203.0.113.5", "203.0.113.5")
	state := uint64(1)
	s := Selector{Conns: c, Rand: func() uint32 {
		state = state*6364136223846793005 + 1442695040888963407
		return uint32(state >> 33)
	}}
	for i := 0; len(c.replies) < n; i++ {
		curr := benchFlow(i, servers, scatter)
		if got, ok := s.Select(curr, &r, ManipSrc); ok {
			c.add(curr, got)
		}
		if i > 4*n {
			b.Fatalf("only %d flows bound", len(c.replies))
		}
	}
	return c, r
}

// benchFlow is the i-th flow: from consecutive source ports, or with
// scatter from ports in a scrambled order (40499 is prime to 64512).
func benchFlow(i, servers int, scatter bool) conntrack.Tuple {
	port := uint16(1024 + i%60000)
	if scatter {
		port = uint16(1024 + i*40499%64512)
	}
	t := tuple(udp, "192.168.1.10", port, "198.51.100.0", 53)
	t.Src[3] = byte(10 + i/60000%4)
	t.Dst[2], t.Dst[3] = byte(i%servers>>8), byte(i%servers)
	return t
}

// BenchmarkSelectWith50kFlows is the cost of choosing the tuple of a new
// connection when 50k connections already go out through the same SNAT
// address: to one server, so that 77% of its 64512 high ports are taken
// and most new flows search, and spread over 100 servers. With the taken
// ports in one block (clients' consecutive ephemeral ports kept as they
// are), the kernel's budget of 248 tries from random starts fails for
// about 0.77^5 of new flows; scattered, a few tries do.
func BenchmarkSelectWith50kFlows(b *testing.B) {
	for _, bc := range []struct {
		name    string
		servers int
		scatter bool
		flags   Flags
	}{
		{"OneServer/BlockOfPorts", 1, false, 0},
		{"OneServer/ScatteredPorts", 1, true, 0},
		{"OneServer/ScatteredPorts/RandomFully", 1, true, ProtoRandomFully},
		{"100Servers", 100, false, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, r := fill(b, 50_000, bc.servers, bc.scatter)
			r.Flags |= bc.flags
			x := uint32(7)
			s := Selector{Conns: c, Rand: func() uint32 { x = x*1664525 + 1013904223; return x >> 8 }}
			c.taken = 0
			fails := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// New flows: source ports the table has not seen
				// from a fifth client.
				curr := benchFlow(i, bc.servers, bc.scatter)
				curr.Src[3] = 99
				if _, ok := s.Select(curr, &r, ManipSrc); !ok {
					fails++
				}
			}
			b.ReportMetric(float64(c.taken)/float64(b.N), "lookups/op")
			b.ReportMetric(float64(fails)/float64(b.N), "exhausted/op")
		})
	}
}

// BenchmarkRewriteEstablished is the per-packet cost of NAT on an
// established flow: decoding the packet and rewriting the source address
// and port with incremental checksums (copying the 40- or 28-byte packet
// back each time so that every iteration rewrites).
func BenchmarkRewriteEstablished(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    testpkt.Spec
	}{
		{"TCP", testpkt.Spec{Proto: "tcp", Src: client, Dst: server, SrcPort: 40000, DstPort: 80, Flags: "A"}},
		{"UDP", testpkt.Spec{Proto: "udp", Src: client, Dst: server, SrcPort: 40000, DstPort: 80}},
		{"TCPv6", testpkt.Spec{Proto: "tcp", Src: client6, Dst: server6, SrcPort: 40000, DstPort: 80, Flags: "A"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pkt := testpkt.Build(bc.s)
			orig := tupleOf2(pkt)
			natted := orig
			if orig.Family == packet.IPv4 {
				natted.Src = addrBytes(public)
			} else {
				natted.Src = addrBytes(public6)
			}
			natted.SrcPort = 50000
			reply, _ := natted.Invert()
			buf := make([]byte, len(pkt))
			var p packet.Packet
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for range b.N {
				copy(buf, pkt)
				p.Decode(buf)
				if !Apply(&p, conntrack.Original, &orig, &reply, conntrack.StatusSrcNAT, ManipSrc) {
					b.Fatal("Apply failed")
				}
			}
		})
	}
}

func tupleOf2(b []byte) conntrack.Tuple {
	var p packet.Packet
	p.Decode(b)
	t, _ := conntrack.TupleOf(&p, 0)
	return t
}
