package jhash

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// hashlittle is lookup3.c's byte-at-a-time hashlittle, written from the
// paper's description independently of Hash2, as an oracle: for a key
// whose length is a multiple of four it equals Hash2 over the key's
// little-endian words.
func hashlittle(k []byte, initval uint32) uint32 {
	a := initval0 + uint32(len(k)) + initval
	b, c := a, a
	for len(k) > 12 {
		a += binary.LittleEndian.Uint32(k[0:])
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a, b, c = mix(a, b, c)
		k = k[12:]
	}
	if len(k) == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], k)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	return final(a, b, c)
}

func TestHashlittleMatchesLookup3CheckValues(t *testing.T) {
	// The values lookup3.c's driver5 prints.
	tests := []struct {
		key     string
		initval uint32
		want    uint32
	}{
		{"", 0, 0xdeadbeef},
		{"", 0xdeadbeef, 0xbd5b7dde},
		{"Four score and seven years ago", 0, 0x17770551},
		{"Four score and seven years ago", 1, 0xcd628161},
	}
	for _, tt := range tests {
		if got := hashlittle([]byte(tt.key), tt.initval); got != tt.want {
			t.Errorf("hashlittle(%q, %#x) = %#x, want %#x", tt.key, tt.initval, got, tt.want)
		}
	}
}

func TestHash2EqualsHashlittleOverLittleEndianWords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 7; n++ {
		for range 100 {
			words := make([]uint32, n)
			b := make([]byte, 4*n)
			for i := range words {
				words[i] = r.Uint32()
				binary.LittleEndian.PutUint32(b[4*i:], words[i])
			}
			init := r.Uint32()
			if got, want := Hash2(words, init), hashlittle(b, init); got != want {
				t.Fatalf("Hash2(%x, %#x) = %#x, hashlittle = %#x", words, init, got, want)
			}
		}
	}
}

func TestHash3IsJhash2OfThreeWords(t *testing.T) {
	// jhash_3words(a, b, c, iv) == jhash2({a, b, c}, iv).
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		a, b, c, iv := r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()
		if got, want := Hash3(a, b, c, iv), Hash2([]uint32{a, b, c}, iv); got != want {
			t.Fatalf("Hash3 = %#x, Hash2 = %#x", got, want)
		}
	}
}
