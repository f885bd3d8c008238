// Package jhash is the Linux kernel's jhash (include/linux/jhash.h, Bob
// Jenkins' lookup3), which netfilter uses where its choices must be
// reproduced exactly: NAT's address choice and NFQUEUE's queue balancing.
package jhash

import "math/bits"

// initval0 is JHASH_INITVAL, the golden-ratio-derived constant of
// Bob Jenkins' lookup3 that include/linux/jhash.h starts from.
const initval0 = 0xdeadbeef

// Hash2 is the kernel's jhash2 (include/linux/jhash.h, Bob Jenkins'
// lookup3 hashword) over the 32-bit words k, with initval. The words are
// taken as the kernel reads them from memory: a caller hashing bytes in
// network order passes the words a little-endian (x86, arm64) kernel
// loads from them.
func Hash2(k []uint32, initval uint32) uint32 {
	a := initval0 + uint32(len(k))<<2 + initval
	b, c := a, a
	for len(k) > 3 {
		a += k[0]
		b += k[1]
		c += k[2]
		a, b, c = mix(a, b, c)
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
		c = final(a, b, c)
	}
	return c
}

// mix is __jhash_mix: it mixes three words reversibly.
func mix(a, b, c uint32) (uint32, uint32, uint32) {
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

// final is __jhash_final: the final mixing of three words into c,
// the hash.
func final(a, b, c uint32) uint32 {
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

// Hash3 is the kernel's jhash_3words: three words hashed with initval,
// as nfqueue_hash does.
func Hash3(a, b, c, initval uint32) uint32 {
	initval += initval0 + 3<<2
	return final(a+initval, b+initval, c+initval)
}
