package nat

import "testing"

func TestReciprocalScaleMapsOntoRange(t *testing.T) {
	tests := []struct{ v, n, want uint32 }{
		{0, 10, 0},
		{0xffffffff, 10, 9},
		{0x80000000, 4, 2},
		{0xffffffff, 0, 0}, // a full IPv4 range: dist wraps to 0 in the kernel too
	}
	for _, tt := range tests {
		if got := reciprocalScale(tt.v, tt.n); got != tt.want {
			t.Errorf("reciprocalScale(%#x, %d) = %d, want %d", tt.v, tt.n, got, tt.want)
		}
	}
}
