package nat

import "math/bits"

// jhashInitval is JHASH_INITVAL, the golden-ratio-derived constant of
// Bob Jenkins' lookup3 that include/linux/jhash.h starts from.
const jhashInitval = 0xdeadbeef

// jhash2 is the kernel's jhash2 (include/linux/jhash.h, Bob Jenkins'
// lookup3 hashword) over the 32-bit words k, with initval. The words are
// taken as the kernel reads them from memory: find_best_ips_proto hashes
// an address in network byte order loaded as native u32s, so callers pass
// [leWord]s to get the values a little-endian (x86, arm64) kernel gets.
func jhash2(k []uint32, initval uint32) uint32 {
	a := jhashInitval + uint32(len(k))<<2 + initval
	b, c := a, a
	for len(k) > 3 {
		a += k[0]
		b += k[1]
		c += k[2]
		a, b, c = jhashMix(a, b, c)
		k = k[3:]
	}
	switch len(k) {
	case 3:
		c += k[2]
		fallthrough
	case 2:
		b += k[1]
		fallthrough
	case 1:
		a += k[0]
		c = jhashFinal(a, b, c)
	}
	return c
}

// jhashMix is __jhash_mix: it mixes three words reversibly.
func jhashMix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

// jhashFinal is __jhash_final: the final mixing of three words into c,
// the hash.
func jhashFinal(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// leWord returns the i-th 32-bit word of a as a little-endian CPU loads
// it: what the kernel's (__force u32) casts of a network-order address
// word give on x86 and arm64.
func leWord(a *[16]byte, i int) uint32 {
	return uint32(a[4*i]) | uint32(a[4*i+1])<<8 | uint32(a[4*i+2])<<16 | uint32(a[4*i+3])<<24
}

// reciprocalScale maps v onto [0, n) as include/linux/math.h's
// reciprocal_scale does: the high half of the 64-bit product.
func reciprocalScale(v, n uint32) uint32 {
	return uint32(uint64(v) * uint64(n) >> 32)
}
