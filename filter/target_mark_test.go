package filter

import "testing"

func TestMarkSetXmark(t *testing.T) {
	for _, tc := range []struct {
		name      string
		t         MarkTarget
		old, want uint32
	}{
		{"set-mark 1", MarkTarget{Mark: 1, Mask: 0xffffffff}, 0xabc, 1},
		{"set-xmark 0x10/0xf0 keeps low bits", MarkTarget{Mark: 0x10, Mask: 0xf0}, 0xff, 0x1f},
		{"and-mark 0xf0", MarkTarget{Mark: 0, Mask: ^uint32(0xf0)}, 0xff, 0xf0},
		{"or-mark 3", MarkTarget{Mark: 3, Mask: 3}, 0x10, 0x13},
		{"xor-mark 3", MarkTarget{Mark: 3, Mask: 0}, 0x11, 0x12},
	} {
		c := &Context{Mark: tc.old}
		if v := tc.t.Do(c); v.Action != Continue || c.Mark != tc.want {
			t.Errorf("%s: mark %#x verdict %v, want %#x CONTINUE", tc.name, c.Mark, v.Action, tc.want)
		}
	}
}

func TestConnmarkSaveRestoreWithMasksAndShift(t *testing.T) {
	for _, tc := range []struct {
		name             string
		t                ConnmarkTarget
		mark, ct         uint32
		wantMark, wantCT uint32
	}{
		{"set", ConnmarkTarget{Mode: ConnmarkSet, CTMark: 1, CTMask: 0xff}, 0, 0x1f0, 0, 0x101},
		{"save", ConnmarkTarget{Mode: ConnmarkSave, NFMask: 0xff, CTMask: 0xff}, 0x1234, 0xab00, 0x1234, 0xab34},
		{"restore", ConnmarkTarget{Mode: ConnmarkRestore, NFMask: 0xff, CTMask: 0xff}, 0x1200, 0xab34, 0x1234, 0xab34},
		{"save shifted left", ConnmarkTarget{Mode: ConnmarkSave, NFMask: 0xff, CTMask: 0xff00, ShiftBits: 8}, 0x12, 0, 0x12, 0x1200},
		{"restore shifted right", ConnmarkTarget{Mode: ConnmarkRestore, NFMask: 0xff, CTMask: 0xff00, ShiftDir: ShiftRight, ShiftBits: 8}, 0, 0x3400, 0x34, 0x3400},
	} {
		c := &Context{Mark: tc.mark, CT: CTInfo{Mark: tc.ct, Tracked: true, State: StateEstablished}}
		tc.t.Do(c)
		if c.Mark != tc.wantMark || c.CT.Mark != tc.wantCT {
			t.Errorf("%s: mark %#x ctmark %#x, want %#x %#x", tc.name, c.Mark, c.CT.Mark, tc.wantMark, tc.wantCT)
		}
	}
}

func TestConnmarkDoesNothingWhenUntracked(t *testing.T) {
	c := &Context{Mark: 7, CT: CTInfo{Mark: 9}}
	(&ConnmarkTarget{Mode: ConnmarkRestore, NFMask: ^uint32(0), CTMask: ^uint32(0)}).Do(c)
	if c.Mark != 7 || c.CT.Mark != 9 {
		t.Errorf("untracked packet changed: mark %d ctmark %d", c.Mark, c.CT.Mark)
	}
}

func TestConnmarkDoesNothingForInvalidPackets(t *testing.T) {
	// Conntrack ran but attached no connection (INVALID): there is no
	// connection mark, as in the kernel.
	c := &Context{Mark: 7, CT: CTInfo{Mark: 9, Tracked: true, State: StateInvalid}}
	(&ConnmarkTarget{Mode: ConnmarkRestore, NFMask: ^uint32(0), CTMask: ^uint32(0)}).Do(c)
	if c.Mark != 7 {
		t.Errorf("invalid packet: mark %d, want 7", c.Mark)
	}
}
