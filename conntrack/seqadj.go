package conntrack

import (
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Sequence adjustment (nf_conntrack_seqadj.c). When a helper rewrites a
// TCP payload to a different length (an FTP PORT command with a longer
// address, say), the sender's sequence numbers and the receiver's
// acknowledgements no longer agree with the hosts'. The connection then
// records, per direction, where the change happened and by how much, and
// every later packet is shifted: its sequence number by its own
// direction's offset, its acknowledgement and SACK blocks back by the
// other direction's.

// SeqAdj is one direction's sequence adjustment: packets whose sequence
// number is after CorrectionPos are shifted by OffsetAfter, others by
// OffsetBefore (struct nf_ct_seqadj).
type SeqAdj struct {
	CorrectionPos             uint32
	OffsetBefore, OffsetAfter int32
}

// offset returns the shift for sequence number seq.
func (a *SeqAdj) offset(seq uint32) int32 {
	if after(seq, a.CorrectionPos) {
		return a.OffsetAfter
	}
	return a.OffsetBefore
}

// AdjustSeq records that a helper changed the length of the payload of
// the packet r describes by off bytes, from its sequence number seq on
// (nf_ct_seqadj_set): as in the kernel, a second change is recorded only
// past the first one's position, or when the first one has been
// cancelled out. It sets SEQ_ADJUST on the connection. Packets are then
// rewritten by [Table.SeqAdjust].
func (t *Table) AdjustSeq(r *Result, seq uint32, off int32, now time.Time) {
	if off == 0 || !r.Tracked() {
		return
	}
	t.editExt(r, StatusSeqAdjust, now, func(x *connExt) {
		w := &x.seqadj[r.Dir&1]
		if w.OffsetBefore == w.OffsetAfter || before(w.CorrectionPos, seq) {
			w.CorrectionPos = seq
			w.OffsetBefore = w.OffsetAfter
			w.OffsetAfter += off
		}
	})
}

// seqAdjOf returns the adjustment of the connection r describes.
func (t *Table) seqAdjOf(r *Result) [2]SeqAdj {
	if r.isNew {
		return r.pending.ext.seqadj
	}
	if r.killed {
		return r.killedAdj
	}
	s := r.ref.shard
	if s == nil {
		return [2]SeqAdj{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stillThere(&r.ref, &r.natOther); !ok {
		return [2]SeqAdj{}
	}
	return s.ext(r.ref.kind, r.ref.slot).seqadj
}

// SeqAdjust rewrites a TCP packet of a connection with SEQ_ADJUST set,
// as nf_ct_seq_adjust does when the packet leaves (nf_confirm): its
// sequence number moves by its direction's offset, and its
// acknowledgement and SACK blocks back by the other direction's, with
// the checksum updated incrementally. It reports whether it changed the
// packet. Other packets are left alone, as are ICMP errors RELATED in
// the reply direction, which the kernel does not adjust either.
func (t *Table) SeqAdjust(r *Result, p *packet.Packet) bool {
	if r.Status&StatusSeqAdjust == 0 || !r.Tracked() || p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.IsICMPError() {
		return false
	}
	a := t.seqAdjOf(r)
	this, other := &a[r.Dir&1], &a[(r.Dir&1)^1]
	seq := p.Seq + uint32(this.offset(p.Seq))
	ack := p.Ack
	hasAck := p.TCPFlags&packet.TCPAck != 0
	if hasAck {
		ack -= uint32(other.offset(p.Ack - uint32(other.OffsetBefore)))
	}
	changed := p.SetTCPSeqAck(seq, ack)
	if hasAck {
		changed = p.MapSACK(func(edge uint32) uint32 {
			return edge - uint32(other.offset(edge-uint32(other.OffsetBefore)))
		}) || changed
	}
	return changed
}

// seqOffset returns the shift the connection's adjustment applies to
// sequence number seq of direction d (nf_ct_seq_offset); the TCP tracker
// uses it to undo the shift of an acknowledgement.
func seqOffset(a *[2]SeqAdj, d Dir, seq uint32) int32 { return a[d&1].offset(seq) }
