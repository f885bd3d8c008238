package filter

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/internal/jhash"
)

// ClusterMatch is -m cluster (xt_cluster.c): the connection's original
// source address, hashed with the seed (jhash) and scaled to
// TotalNodes, picks a node; the packet matches if that node is in
// NodeMask (bit n-1 for node n). A packet without a connection never
// matches, nor does a multicast-typed packet to a unicast address.
// As in the kernel, an IPv6 source is hashed by its first 32 bits only.
// nfgo hashes an expected connection's own source, where the kernel
// hashes its master's.
type ClusterMatch struct {
	TotalNodes uint32
	NodeMask   uint32
	Seed       uint32
	Invert     bool
}

// Name returns "cluster".
func (*ClusterMatch) Name() string { return "cluster" }

// Match hashes the connection's source.
func (m *ClusterMatch) Match(c *Context) bool {
	if !c.CT.Tracked || c.CT.State&(StateInvalid|StateUntracked) != 0 {
		return false
	}
	if c.PktType == PacketMulticast && !c.Packet.Dst().IsMulticast() {
		return false
	}
	c.CT.Tuples()
	src := c.CT.OrigSrc
	var h uint32
	switch {
	case src.Is4():
		a := src.As4()
		h = jhash.Hash2([]uint32{binary.LittleEndian.Uint32(a[:])}, m.Seed)
	case src.Is6():
		// xt_cluster_hash_ipv6 hashes NF_CT_TUPLE_L3SIZE / sizeof(u32)
		// words, and NF_CT_TUPLE_L3SIZE counts the address's words,
		// not its bytes: one word, the address's first 32 bits.
		a := src.As16()
		h = jhash.Hash2([]uint32{binary.LittleEndian.Uint32(a[:4])}, m.Seed)
	default:
		return false
	}
	node := uint32((uint64(h) * uint64(m.TotalNodes)) >> 32)
	return (m.NodeMask&(1<<node) != 0) != m.Invert
}
