package filter

import "testing"

// TestU32Bounds: a read that would leave the packet fails the test, at
// the start and after "@", and "@" refuses a base that overflows.
func TestU32Bounds(t *testing.T) {
	b := []byte{0x45, 0, 0, 12, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef}
	for _, tt := range []struct {
		name string
		test U32Test
		want bool
	}{
		{"first word", U32Test{Start: 0, Values: []U32Range{{0x4500000c, 0x4500000c}}}, true},
		{"last word", U32Test{Start: 8, Values: []U32Range{{0xdeadbeef, 0xdeadbeef}}}, true},
		{"one byte past", U32Test{Start: 9, Values: []U32Range{{0, 1<<32 - 1}}}, false},
		{"mask and shift", U32Test{Start: 0, Steps: []U32Step{{U32ShiftRight, 24}, {U32And, 0xf}}, Values: []U32Range{{5, 5}}}, true},
		{"at the word at 4 (4), then 4", U32Test{Start: 4, Steps: []U32Step{{U32At, 4}}, Values: []U32Range{{0xdeadbeef, 0xdeadbeef}}}, true},
		{"at past the end", U32Test{Start: 4, Steps: []U32Step{{U32At, 5}}, Values: []U32Range{{0, 1<<32 - 1}}}, false},
		{"at overflowing", U32Test{Start: 8, Steps: []U32Step{{U32At, 0}, {U32At, 0xffffffff}}, Values: []U32Range{{0, 1<<32 - 1}}}, false},
		{"no range holds", U32Test{Start: 0, Values: []U32Range{{1, 2}, {5, 1}}}, false},
	} {
		if got := u32Run([]U32Test{tt.test}, b); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if u32Run([]U32Test{{Start: 0, Values: []U32Range{{0, 1<<32 - 1}}}}, b[:3]) {
		t.Error("a 3-byte packet matched")
	}
}

// FuzzU32Run runs tests built from the fuzzer's numbers on its bytes:
// never a panic, whatever the offsets.
func FuzzU32Run(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 20, 1, 2, 3, 4}, uint32(0), uint8(3), uint32(4), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, b []byte, start uint32, op uint8, n1, n2 uint32) {
		test := U32Test{Start: start, Steps: []U32Step{{U32Op(op % 4), n1}, {U32At, n2}, {U32Op(op / 4 % 4), n2}}, Values: []U32Range{{0, n1}}}
		m := &U32Match{Tests: []U32Test{test}}
		if m.CheckRule(nil, Site{}) == nil {
			u32Run(m.Tests, b)
		}
	})
}
