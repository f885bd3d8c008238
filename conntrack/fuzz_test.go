package conntrack

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// fuzzOpLen is the number of fuzz bytes that describe one step.
const fuzzOpLen = 8

// The hosts and ports the fuzzer's packets travel between: few, so that
// packets often belong to the same connections.
var (
	fuzzHosts = [3][4]byte{{10, 0, 0, 1}, {10, 0, 0, 2}, {10, 0, 0, 3}}
	fuzzPorts = [4]uint16{80, 53, 40000, 40001}
)

// ipv4 writes an IPv4 header for an L4 payload of n bytes into b.
func ipv4(b []byte, src, dst [4]byte, proto uint8, n int) []byte {
	b = b[:20+n]
	clear(b[:20])
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+n))
	b[8], b[9] = 64, proto
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	binary.BigEndian.PutUint16(b[10:], ^packet.Checksum(b[:20], 0))
	return b
}

// l4 writes a TCP (flags, seq, ack) or UDP header and payload bytes of
// payload into b, after the IP header.
func l4(b []byte, proto uint8, sport, dport uint16, flags uint8, seq, ack uint32, payload int) []byte {
	if proto == packet.ProtoTCP {
		t := b[:20+payload]
		clear(t)
		binary.BigEndian.PutUint16(t[0:], sport)
		binary.BigEndian.PutUint16(t[2:], dport)
		binary.BigEndian.PutUint32(t[4:], seq)
		binary.BigEndian.PutUint32(t[8:], ack)
		t[12], t[13] = 5<<4, flags
		binary.BigEndian.PutUint16(t[14:], 64240)
		return t
	}
	u := b[:8+payload]
	clear(u)
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+payload))
	return u
}

// fuzzPacket builds the packet one op describes:
//
//	op[0]  bits 0-1 kind: TCP, UDP, ICMP echo (request or reply), ICMP
//	       error about a TCP or UDP packet; bit 2 the echo reply or the
//	       error about UDP; bit 3 the error comes from a third host
//	op[1]  source host (bits 0-1), destination host (bits 2-3), modulo 3
//	op[2]  source port (bits 0-1), destination port (bits 2-3)
//	op[3]  TCP flags
//	op[4], op[5]  seq and ack (small, so that handshakes line up)
//	op[6]  bits 0-2 payload length ×8; bits 3-7 the time step
//	op[7]  bit 0 leave unconfirmed (as if dropped), bit 1 zone 1,
//	       bit 2 run Collect, bit 3 set a mark
func fuzzPacket(buf []byte, op []byte) []byte {
	src, dst := fuzzHosts[op[1]&3%3], fuzzHosts[op[1]>>2&3%3]
	sport, dport := fuzzPorts[op[2]&3], fuzzPorts[op[2]>>2&3]
	seq, ack := uint32(op[4]), uint32(op[5])
	payload := int(op[6]&7) * 8
	switch op[0] & 3 {
	case 0:
		h := ipv4(buf, src, dst, packet.ProtoTCP, 20+payload)
		l4(h[20:], packet.ProtoTCP, sport, dport, op[3], seq, ack, payload)
		return h
	case 1:
		h := ipv4(buf, src, dst, packet.ProtoUDP, 8+payload)
		l4(h[20:], packet.ProtoUDP, sport, dport, 0, 0, 0, payload)
		return h
	case 2:
		h := ipv4(buf, src, dst, packet.ProtoICMP, 8)
		typ := uint8(8)
		if op[0]&4 != 0 {
			typ = 0
		}
		i := h[20:28]
		clear(i)
		i[0] = typ
		binary.BigEndian.PutUint16(i[4:], sport)
		binary.BigEndian.PutUint16(i[6:], ^packet.Checksum(i, 0))
		return h
	}
	// An error about a packet that went from dst to src.
	proto, innerLen := uint8(packet.ProtoTCP), 20
	if op[0]&4 != 0 {
		proto, innerLen = packet.ProtoUDP, 8
	}
	from := src
	if op[0]&8 != 0 {
		from = fuzzHosts[2]
	}
	h := ipv4(buf, from, dst, packet.ProtoICMP, 8+20+innerLen)
	i := h[20:]
	clear(i[:8])
	i[0], i[1] = 3, 3 // port unreachable
	inner := ipv4(i[8:], dst, src, proto, innerLen)
	l4(inner[20:], proto, dport, sport, op[3], seq, ack, 0)
	binary.BigEndian.PutUint16(i[2:], ^packet.Checksum(i, 0))
	return h
}

// lookup finds the stored connection of a tuple without reaping it: its
// identity and the tuple's direction. It is the one place the fuzz test
// reaches into the table's storage (there is no exported Get).
func lookup(tb *Table, tp Tuple) (uint64, Dir, bool) {
	pr := tb.probeOf(&tp)
	pr.s.mu.Lock()
	defer pr.s.mu.Unlock()
	slot, dir, ok := pr.s.find(&pr)
	id := uint64(pr.kind)<<32 | uint64(slot)
	// The shard is part of the identity.
	for i := range tb.shards {
		if &tb.shards[i] == pr.s {
			id |= uint64(i) << 40
		}
	}
	return id, dir, ok
}

// FuzzTracker runs random packets of a few hosts through In and Confirm
// (confirming at random, as if some were dropped), with random steps of
// time, and checks after every packet that the table is consistent:
// every entry is found from both of its tuples, as one entry, in
// opposite directions; Len counts what All lists; Stats agree; and the
// event stream saw every entry come and go.
func FuzzTracker(f *testing.F) {
	seeds := [][]byte{
		// A TCP handshake, data and FIN/RST, confirmed.
		{0, 4, 8, 0x02, 0, 0, 0, 0, 0, 1, 2, 0x12, 0, 1, 0, 0, 0, 4, 8, 0x10, 1, 1, 8, 0, 0, 4, 8, 0x11, 1, 1, 0, 0, 0, 1, 2, 0x04, 1, 0, 0, 0},
		// UDP request, reply, an ICMP error about it, expiry.
		{1, 4, 1, 0, 0, 0, 0, 0, 1, 1, 4, 0, 0, 0, 0, 0, 7, 1, 4, 0, 0, 0, 0, 0, 1, 4, 1, 0, 0, 0, 0xf8, 4},
		// Echo request unconfirmed, then confirmed, then its reply.
		{2, 4, 0, 0, 0, 0, 0, 1, 2, 4, 0, 0, 0, 0, 0, 0, 6, 1, 0, 0, 0, 0, 0, 2},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256*fuzzOpLen {
			ops = ops[:256*fuzzOpLen]
		}
		tb := NewTable(Config{Max: 32})
		sub := tb.Subscribe(1024)
		defer sub.Close()
		live := 0 // NEW events minus DESTROY events
		now := t0
		var buf [128]byte
		var p packet.Packet
		var r Result
		for len(ops) >= fuzzOpLen {
			op := ops[:fuzzOpLen]
			ops = ops[fuzzOpLen:]
			step := time.Duration(op[6] >> 3)
			now = now.Add(step * step * time.Second)
			p.Decode(fuzzPacket(buf[:], op))
			zone := uint16(op[7] >> 1 & 1)
			tb.In(&r, &p, zone, now, true)
			if op[7]&8 != 0 {
				tb.SetMark(&r, uint32(op[3]), now)
			}
			if op[7]&1 == 0 {
				tb.Confirm(&r)
			}
			if op[7]&4 != 0 {
				tb.Collect(now, shardCount)
			}
			checkTable(t, tb, now)
			for _, ev := range drain(sub) {
				switch ev.Type {
				case EventNew:
					live++
				case EventDestroy:
					live--
				}
			}
			if sub.Lost() != 0 || live != tb.Len() {
				t.Fatalf("events say %d live (%d lost), table has %d", live, sub.Lost(), tb.Len())
			}
		}
	})
}

// checkTable checks the table's invariants at time now.
func checkTable(t *testing.T, tb *Table, now time.Time) {
	t.Helper()
	// From the far past nothing has expired: All lists every stored
	// entry, reaped or not, which is what Len counts.
	past := time.Unix(0, math.MinInt64)
	n := 0
	seen := map[uint64]bool{}
	for c := range tb.All(past) {
		n++
		oid, odir, ofound := lookup(tb, c.Orig)
		rid, rdir, rfound := lookup(tb, c.Reply)
		// A packet from a host's port to itself has a tuple that is its
		// own inverse: both lookups are the same one, and its direction
		// is ambiguous (the original wins, as in the kernel's lookup).
		self := c.Orig == c.Reply
		if !ofound || !rfound || oid != rid || odir != Original || rdir != Reply && !self {
			t.Fatalf("%v: found from original %v (%v), from reply %v (%v), ids %x %x", c, ofound, odir, rfound, rdir, oid, rid)
		}
		if seen[oid] {
			t.Fatalf("%v listed twice", c)
		}
		seen[oid] = true
	}
	if n != tb.Len() {
		t.Fatalf("All lists %d entries, Len is %d", n, tb.Len())
	}
	if s := tb.Stats(); s.Entries != tb.Len() {
		t.Fatalf("Stats.Entries %d, Len %d", s.Entries, tb.Len())
	}
	if tb.Len() > tb.Config().Max {
		t.Fatalf("%d entries, above the maximum %d", tb.Len(), tb.Config().Max)
	}
	live := 0
	for range tb.All(now) {
		live++
	}
	if live > n {
		t.Fatalf("%d live entries out of %d", live, n)
	}
}
