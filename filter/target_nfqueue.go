package filter

import (
	"encoding/binary"
	"github.com/nfgo/nfgo/internal/jhash"

	"github.com/nfgo/nfgo/packet"
)

// NFQueueTarget is -j NFQUEUE (xt_NFQUEUE.c, revision 3): the packet is
// handed to a userspace program listening on a netlink queue.
type NFQueueTarget struct {
	// Num is the first queue (--queue-num, or the low end of
	// --queue-balance).
	Num uint16
	// Total is the number of queues packets are balanced over
	// (--queue-balance a:b gives b-a+1); 1 without balancing.
	Total uint16
	// Bypass accepts the packet when no program listens on the queue
	// (--queue-bypass) instead of dropping it.
	Bypass bool
	// CPUFanout picks the queue by CPU instead of by flow
	// (--queue-cpu-fanout). nfgo has no CPU to go by and uses the flow
	// hash, which keeps a flow on one queue all the same.
	CPUFanout bool
	// Seed is the hash seed (the kernel draws jhash_initval at random
	// once). Two targets with the same seed put a flow on the same queue.
	Seed uint32
}

// Name returns "NFQUEUE".
func (*NFQueueTarget) Name() string { return "NFQUEUE" }

// Do returns the Queue verdict with the queue number, balanced over Total
// queues by a hash of the address pair and protocol that is the same in
// both directions (nfqueue_hash in include/net/netfilter/nf_queue.h), so
// that one program sees the whole conversation. Ports are ignored, as in
// the kernel.
func (t *NFQueueTarget) Do(c *Context) Verdict {
	q := t.Num
	if t.Total > 1 && c.Packet != nil {
		h := nfqueueHash(c.Packet, t.Seed)
		q += uint16((uint64(h) * uint64(t.Total)) >> 32)
	}
	return Verdict{Action: Queue, Queue: q, Bypass: t.Bypass}
}

// nfqueueHash is hash_v4 / hash_v6. The kernel compares and hashes the
// raw 32-bit words as loaded on the host; nfgo loads them little-endian,
// as on x86 and arm64, so its queue choice matches a kernel that has the
// same seed.
func nfqueueHash(p *packet.Packet, seed uint32) uint32 {
	if p.Family == packet.IPv6 {
		s, d := p.Src().As16(), p.Dst().As16()
		s3, d3 := binary.LittleEndian.Uint32(s[12:]), binary.LittleEndian.Uint32(d[12:])
		s1, d1 := binary.LittleEndian.Uint32(s[4:]), binary.LittleEndian.Uint32(d[4:])
		a, b := d3, s3
		if s3 < d3 {
			a, b = s3, d3
		}
		c := d1
		if s1 < d1 {
			c = s1
		}
		return jhash.Hash3(a, b, c, seed)
	}
	s, d := p.Src().As4(), p.Dst().As4()
	sw, dw := binary.LittleEndian.Uint32(s[:]), binary.LittleEndian.Uint32(d[:])
	if sw < dw {
		return jhash.Hash3(sw, dw, uint32(p.Proto), seed)
	}
	return jhash.Hash3(dw, sw, uint32(p.Proto), seed)
}
