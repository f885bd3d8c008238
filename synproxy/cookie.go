package synproxy

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
)

// The SYN cookie's layout (net/ipv4/syncookies.c): the top 8 bits count
// minutes, the low 24 carry a keyed hash plus the MSS table index.
const (
	cookieBits = 24
	cookieMask = 1<<cookieBits - 1
	// maxAge is MAX_SYNCOOKIE_AGE: a cookie is good in the minute it
	// was made and the next.
	maxAge = 2
)

// The MSS values a cookie can carry, by index (msstab, msstab6).
var (
	mssTable4 = [4]uint16{536, 1300, 1440, 1460}
	mssTable6 = [4]uint16{1220, 1420, 1440, 8940}
)

// Cookies makes and checks SYN cookies with two secret keys, as
// __cookie_v4_init_sequence and __cookie_v4_check (and their IPv6
// twins) do. The zero value is not ready: use NewCookies. Cookies is
// immutable and safe for concurrent use.
type Cookies struct {
	keys [2][2]uint64 // SipHash-2-4 keys, as syncookie_secret
}

// NewCookies makes the keys from crypto/rand.
func NewCookies() *Cookies {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("synproxy: crypto/rand: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return NewCookiesWithKey(b)
}

// NewCookiesWithKey makes cookies from a given 32-byte secret, for
// tests and for nodes that must accept each other's cookies.
func NewCookiesWithKey(secret [32]byte) *Cookies {
	c := &Cookies{}
	for i := range 2 {
		c.keys[i][0] = binary.LittleEndian.Uint64(secret[16*i:])
		c.keys[i][1] = binary.LittleEndian.Uint64(secret[16*i+8:])
	}
	return c
}

// Flow is what a cookie is keyed by: the client's SYN's addresses and
// ports, in its direction.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// hash is cookie_hash: SipHash of the flow and count under key c.
func (k *Cookies) hash(f *Flow, count uint32, c int) uint32 {
	var m [40]byte
	n := 0
	if f.Src.Is4() {
		// siphash_4u32(saddr, daddr, sport << 16 | dport, count): the
		// addresses and ports as the kernel holds them, in network
		// order.
		s, d := f.Src.As4(), f.Dst.As4()
		copy(m[0:], s[:])
		copy(m[4:], d[:])
		binary.NativeEndian.PutUint32(m[8:], uint32(f.SrcPort)<<16|uint32(f.DstPort))
		binary.NativeEndian.PutUint32(m[12:], count)
		n = 16
	} else {
		// struct { saddr, daddr; u32 count; __be16 sport, dport; }
		s, d := f.Src.As16(), f.Dst.As16()
		copy(m[0:], s[:])
		copy(m[16:], d[:])
		binary.NativeEndian.PutUint32(m[32:], count)
		binary.BigEndian.PutUint16(m[36:], f.SrcPort)
		binary.BigEndian.PutUint16(m[38:], f.DstPort)
		n = 40
	}
	return uint32(sipHash24(k.keys[c][0], k.keys[c][1], m[:n]))
}

// mssTable returns the flow's family's MSS table.
func (f *Flow) mssTable() *[4]uint16 {
	if f.Src.Is4() {
		return &mssTable4
	}
	return &mssTable6
}

// MSSIndex is the table index a cookie encodes for a client's MSS: the
// largest entry not above it, the first for none or less.
func (f *Flow) MSSIndex(mss uint16) int {
	t := f.mssTable()
	for i := len(t) - 1; i > 0; i-- {
		if mss >= t[i] {
			return i
		}
	}
	return 0
}

// Make returns the cookie for a SYN of flow f with sequence number isn
// and MSS mss (0 for none), made in minute count (a minute counter, as
// tcp_cookie_time's), and the MSS it will give back.
func (k *Cookies) Make(f Flow, isn uint32, mss uint16, count uint32) (cookie uint32, encoded uint16) {
	idx := f.MSSIndex(mss)
	cookie = k.hash(&f, 0, 0) + isn + count<<cookieBits + (k.hash(&f, count, 1)+uint32(idx))&cookieMask
	return cookie, f.mssTable()[idx]
}

// Check validates the cookie an ACK of flow f acknowledges: ack is the
// ACK's acknowledgment number and seq its sequence number, count the
// current minute. It returns the MSS the cookie carries, or ok false for
// a cookie that is forged, mangled or older than the previous minute.
func (k *Cookies) Check(f Flow, seq, ack uint32, count uint32) (mss uint16, ok bool) {
	cookie, isn := ack-1, seq-1
	c := cookie - (k.hash(&f, 0, 0) + isn)
	diff := (count - c>>cookieBits) & (1<<(32-cookieBits) - 1)
	if diff >= maxAge {
		return 0, false
	}
	idx := (c - k.hash(&f, count-diff, 1)) & cookieMask
	if idx >= uint32(len(f.mssTable())) {
		return 0, false
	}
	return f.mssTable()[idx], true
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein) of m under the key
// (k0, k1), the words read little-endian.
func sipHash24(k0, k1 uint64, m []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
	}
	n := len(m)
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	last := uint64(n) << 56
	for i, c := range m {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
