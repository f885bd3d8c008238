package nat

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
