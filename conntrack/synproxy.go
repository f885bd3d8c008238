package conntrack

import "time"

// Synproxy is the state of a connection SYNPROXY opened (struct
// nf_conn_synproxy): ISN is the proxy's sequence number toward the
// client (the cookie), ITS the timestamp the proxy gave the client
// (0 without timestamps), and TSOff how far the server's timestamps are
// ahead of the proxy's, which every later segment is translated by.
// Only connections created from SYNPROXY's template have it
// (Table.SetSynproxy on a new connection); the engine's SYNPROXY hooks
// read and update it.
type Synproxy struct {
	ISN, ITS, TSOff uint32
}

// statusSynproxy marks a connection that has a Synproxy. It is not one
// of the kernel's IPS_* bits (there the extension's presence says it),
// and no listing prints it.
const statusSynproxy Status = 1 << 31

// Synproxy returns the SYNPROXY state of the connection r describes, as
// the packet found it, and whether it has one.
func (r *Result) Synproxy() (Synproxy, bool) {
	return r.synproxy, r.Status&statusSynproxy != 0 && r.Tracked()
}

// SetSynproxy gives the connection r describes SYNPROXY state s, or
// updates it: a new connection gets it as from SYNPROXY's template
// (nf_ct_add_synproxy), a stored one has it replaced.
func (t *Table) SetSynproxy(r *Result, s Synproxy) {
	if !r.Tracked() {
		return
	}
	r.synproxy = s
	t.editExt(r, statusSynproxy, time.Time{}, func(x *connExt) { x.synproxy = s })
}

// InitSeqAdj sets direction d's sequence offset to off for every
// sequence number, as nf_ct_seqadj_init does (SYNPROXY's translation
// of the server's sequence numbers into the cookie's): an offset of 0
// changes nothing, and the correction position stays where it was. It
// sets SEQ_ADJUST.
func (t *Table) InitSeqAdj(r *Result, d Dir, off int32, now time.Time) {
	if off == 0 || !r.Tracked() {
		return
	}
	if r.killed {
		r.Status |= StatusSeqAdjust
		r.killedAdj[d&1].OffsetBefore, r.killedAdj[d&1].OffsetAfter = off, off
		return
	}
	t.editExt(r, StatusSeqAdjust, now, func(x *connExt) {
		x.seqadj[d&1].OffsetBefore, x.seqadj[d&1].OffsetAfter = off, off
	})
}

// TCPMaxWindow returns the largest window direction d of the TCP
// connection r describes has announced (td_maxwin), as SYNPROXY's ACK
// to the server announces it; 0 if r is not a tracked TCP connection.
func (t *Table) TCPMaxWindow(r *Result, d Dir) uint32 {
	if !r.Tracked() {
		return 0
	}
	if r.isNew {
		return r.pending.tcp.seen[d&1].maxWin
	}
	s := r.ref.shard
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stillThere(&r.ref, &r.natOther); !ok {
		return 0
	}
	_, tcp, _ := s.conn(r.ref.kind, r.ref.slot)
	if tcp == nil {
		return 0
	}
	return tcp.seen[d&1].maxWin
}
