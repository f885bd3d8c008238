package filter

// ConnmarkMode is what a CONNMARK target does.
type ConnmarkMode uint8

// The CONNMARK modes, with xt_connmark's XT_CONNMARK_* values.
const (
	// ConnmarkSet sets the connection mark: ctmark = (ctmark &^ CTMask)
	// ^ CTMark (--set-xmark and its --set/--and/--or/--xor-mark forms).
	ConnmarkSet ConnmarkMode = iota
	// ConnmarkSave copies the packet mark to the connection:
	// ctmark = (ctmark &^ CTMask) ^ shift(mark & NFMask) (--save-mark).
	ConnmarkSave
	// ConnmarkRestore copies the connection mark to the packet:
	// mark = (mark &^ NFMask) ^ shift(ctmark & CTMask) (--restore-mark).
	ConnmarkRestore
)

// ConnmarkShift is the direction of CONNMARK's --left-shift-mark and
// --right-shift-mark (xt_connmark revision 2).
type ConnmarkShift uint8

// The shift directions, with the kernel's D_SHIFT_* values.
const (
	ShiftLeft ConnmarkShift = iota
	ShiftRight
)

// ConnmarkTarget is -j CONNMARK (xt_connmark.c, revision 2): it moves
// marks between the packet and its connection.
type ConnmarkTarget struct {
	Mode ConnmarkMode
	// CTMark and CTMask are the value and mask of ConnmarkSet; CTMask
	// also masks the connection mark for save and restore.
	CTMark, CTMask uint32
	// NFMask masks the packet mark for save and restore.
	NFMask uint32
	// ShiftDir and ShiftBits shift the moved bits (0 bits: no shift).
	ShiftDir  ConnmarkShift
	ShiftBits uint8
}

// Name returns "CONNMARK".
func (*ConnmarkTarget) Name() string { return "CONNMARK" }

// NeedsConntrack reports true: the connection mark lives in conntrack.
func (*ConnmarkTarget) NeedsConntrack() bool { return true }

func (t *ConnmarkTarget) shift(v uint32) uint32 {
	if t.ShiftDir == ShiftRight {
		return v >> t.ShiftBits
	}
	return v << t.ShiftBits
}

// Do applies the mode as connmark_tg_shift does. Like the kernel for a
// packet without a conntrack entry (INVALID, UNTRACKED, or no conntrack),
// it does nothing: there is no connection mark to read or write. The
// engine stores a changed c.CT.Mark back into the entry.
func (t *ConnmarkTarget) Do(c *Context) Verdict {
	if !c.CT.hasConn() {
		return Verdict{Action: Continue}
	}
	switch t.Mode {
	case ConnmarkSet:
		c.CT.Mark = t.shift((c.CT.Mark &^ t.CTMask) ^ t.CTMark)
	case ConnmarkSave:
		c.CT.Mark = (c.CT.Mark &^ t.CTMask) ^ t.shift(c.Mark&t.NFMask)
	case ConnmarkRestore:
		c.Mark = (c.Mark &^ t.NFMask) ^ t.shift(c.CT.Mark&t.CTMask)
	}
	return Verdict{Action: Continue}
}
