package filter

import "testing"

// labelStore is a connection's labels, as the engine keeps them.
type labelStore struct {
	labels [2]uint64
	gone   bool
}

func (s *labelStore) CTLabels() ([2]uint64, bool) { return s.labels, !s.gone }
func (s *labelStore) SetCTLabel(bit uint)         { s.labels[bit/64] |= 1 << (bit % 64) }

func TestConnlabelMatchTestsAndSetsLabels(t *testing.T) {
	tests := []struct {
		name       string
		m          ConnlabelMatch
		labels     [2]uint64
		state      CTState
		noConn     bool
		want       bool
		wantLabels [2]uint64
	}{
		{"has label 3", ConnlabelMatch{Bit: 3}, [2]uint64{1 << 3}, StateEstablished, false, true, [2]uint64{1 << 3}},
		{"lacks label 3", ConnlabelMatch{Bit: 3}, [2]uint64{1 << 4}, StateEstablished, false, false, [2]uint64{1 << 4}},
		{"label 100 is in the second word", ConnlabelMatch{Bit: 100}, [2]uint64{0, 1 << 36}, StateNew, false, true, [2]uint64{0, 1 << 36}},
		{"inverted", ConnlabelMatch{Bit: 3, Invert: true}, [2]uint64{}, StateNew, false, true, [2]uint64{}},
		{"set gives the label and matches", ConnlabelMatch{Bit: 127, Set: true}, [2]uint64{}, StateNew, false, true, [2]uint64{0, 1 << 63}},
		{"inverted set gives the label and does not match", ConnlabelMatch{Bit: 5, Set: true, Invert: true}, [2]uint64{}, StateNew, false, false, [2]uint64{1 << 5}},
		{"untracked matches only inverted", ConnlabelMatch{Bit: 3, Invert: true}, [2]uint64{}, StateUntracked, true, true, [2]uint64{}},
		{"invalid is not labelled", ConnlabelMatch{Bit: 3, Set: true}, [2]uint64{}, StateInvalid, true, false, [2]uint64{}},
	}
	for _, tt := range tests {
		c := matchCtx(mTCP4.decode(t))
		st := &labelStore{labels: tt.labels}
		c.CT = CTInfo{Tracked: true, State: tt.state}
		if !tt.noConn {
			c.CT.Labels = st
		}
		if got := tt.m.Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if st.labels != tt.wantLabels {
			t.Errorf("%s: labels %x, want %x", tt.name, st.labels, tt.wantLabels)
		}
	}
	if err := (&ConnlabelMatch{Bit: 128}).CheckRule(nil, Site{}); err != ErrConnlabelRange {
		t.Errorf("label 128: %v, want ErrConnlabelRange", err)
	}
}
