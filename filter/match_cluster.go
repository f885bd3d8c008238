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
		a := src.As16()
		var w [4]uint32
		for i := range w {
			w[i] = binary.LittleEndian.Uint32(a[4*i:])
		}
		h = jhash.Hash2(w[:], m.Seed)
	default:
		return false
	}
	node := uint32((uint64(h) * uint64(m.TotalNodes)) >> 32)
	return (m.NodeMask&(1<<node) != 0) != m.Invert
}
