package filter

// NFLogTarget is -j NFLOG (xt_NFLOG.c): the packet is handed to the
// logging group Group with Prefix, cut to Size bytes when HasSize, and
// goes on through the rules. Threshold (packets the kernel queues before
// sending them to the group) and the obsolete --nflog-range are kept
// for saving; nfgo hands each packet on at once.
//
// The packet leaves the engine as an EffectNFLog on the verdict, with a
// copy of its bytes; under nfgo run each group is written to a pcapng
// file (--nflog-dir), the prefix as the packet's comment.
type NFLogTarget struct {
	Group     uint16
	Prefix    string
	HasPrefix bool
	Size      uint32
	HasSize   bool
	Threshold uint16
	// Range is --nflog-range, which the kernel never used.
	Range uint32
}

// Name returns "NFLOG".
func (*NFLogTarget) Name() string { return "NFLOG" }

// Do emits the packet to its group and continues.
func (t *NFLogTarget) Do(c *Context) Verdict {
	b := c.Packet.Bytes()
	if t.HasSize && uint32(len(b)) > t.Size {
		b = b[:t.Size]
	}
	c.Emit(Effect{Kind: EffectNFLog, Group: t.Group, Text: t.Prefix, Packet: append([]byte(nil), b...)})
	return Verdict{Action: Continue}
}
