package nat

import (
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Flags are a NAT range's flags, with the kernel's NF_NAT_RANGE_* values,
// which are also filter.NATFlags': a filter.NATRange's flags convert with
// Flags(r.Flags).
type Flags uint16

// The range flags (include/uapi/linux/netfilter/nf_nat.h).
const (
	// MapIPs: the range has addresses, Min..Max.
	MapIPs Flags = 1 << 0
	// ProtoSpecified: the range has ports (or ICMP ids), MinPort..MaxPort.
	ProtoSpecified Flags = 1 << 1
	// ProtoRandom: --random. Since Linux 5.0 it means what ProtoRandomFully
	// means: the port is always searched from a random offset.
	ProtoRandom Flags = 1 << 2
	// Persistent: --persistent, the address hash leaves out the
	// destination, so a client gets the same address for every server.
	Persistent Flags = 1 << 3
	// ProtoRandomFully: --random-fully.
	ProtoRandomFully Flags = 1 << 4
	// ProtoOffset: ports map by offset, port - BasePort, into the range
	// (DNAT --to-destination a:x-y/base).
	ProtoOffset Flags = 1 << 5
	// Netmap: addresses map one to one (NETMAP); see [Netmap].
	Netmap Flags = 1 << 6

	// ProtoRandomAll is NF_NAT_RANGE_PROTO_RANDOM_ALL.
	ProtoRandomAll = ProtoRandom | ProtoRandomFully
)

// Range is one NAT range, struct nf_nat_range2: the addresses and ports a
// connection may be mapped to.
//
// It is nat's own type rather than filter.NATRange because it must be
// cheap on the path that sets up every connection: its addresses are
// arrays laid out as in [conntrack.Tuple] (IPv4 in the first four bytes),
// so it is comparable and pointer-free, where netip.Addr is not; and nat
// does not import filter, so that filter's targets may call into nat.
// Build one with [NewRange].
type Range struct {
	// Min and Max bound the addresses, in network byte order; valid iff
	// MapIPs. The family is the connection's.
	Min, Max [16]byte
	// MinPort and MaxPort bound the ports or ICMP ids; valid iff
	// ProtoSpecified.
	MinPort, MaxPort uint16
	// BasePort is the port that maps to MinPort; valid iff ProtoOffset.
	BasePort uint16
	Flags    Flags
}

// NewRange returns the range of a NAT target, from the fields of a
// filter.NATRange. IPv4-mapped IPv6 addresses are taken as IPv4.
func NewRange(minAddr, maxAddr netip.Addr, minPort, maxPort, basePort uint16, flags Flags) Range {
	r := Range{MinPort: minPort, MaxPort: maxPort, BasePort: basePort, Flags: flags}
	r.Min = addrBytes(minAddr)
	r.Max = addrBytes(maxAddr)
	return r
}

// addrBytes lays a out as conntrack.Tuple does.
func addrBytes(a netip.Addr) [16]byte {
	var b [16]byte
	a = a.Unmap()
	if a.Is4() {
		v := a.As4()
		copy(b[:4], v[:])
		return b
	}
	if a.Is6() {
		return a.As16()
	}
	return b
}

// Manip is the part of a tuple a NAT binding changes, enum
// nf_nat_manip_type: the source (SNAT, MASQUERADE; at POSTROUTING and
// INPUT) or the destination (DNAT, REDIRECT; at PREROUTING and OUTPUT).
type Manip uint8

// The manipulations.
const (
	ManipSrc Manip = 0
	ManipDst Manip = 1
)

// String returns "SNAT" or "DNAT".
func (m Manip) String() string {
	if m == ManipDst {
		return "DNAT"
	}
	return "SNAT"
}

// NullRange returns the range of a null binding
// (__nf_nat_alloc_null_binding): the address that curr, the connection's
// current original-direction tuple, already has on the m side, and no
// ports, so that only a clash changes the port.
func NullRange(curr conntrack.Tuple, m Manip) Range {
	a := curr.Src
	if m == ManipDst {
		a = curr.Dst
	}
	return Range{Min: a, Max: a, Flags: MapIPs}
}

// words returns how many 32-bit words an address of family f has.
func words(f packet.Family) int {
	if f == packet.IPv4 {
		return 1
	}
	return 4
}

// word returns the i-th 32-bit word of a in host order (ntohl).
func word(a *[16]byte, i int) uint32 {
	return uint32(a[4*i])<<24 | uint32(a[4*i+1])<<16 | uint32(a[4*i+2])<<8 | uint32(a[4*i+3])
}

// putWord stores v as the i-th 32-bit word of a (htonl).
func putWord(a *[16]byte, i int, v uint32) {
	a[4*i], a[4*i+1], a[4*i+2], a[4*i+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// cmpAddr compares two addresses of family f as big-endian numbers.
func cmpAddr(f packet.Family, a, b *[16]byte) int {
	for i := range words(f) {
		x, y := word(a, i), word(b, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// addrInRange reports whether t's source address lies in r
// (nf_nat_inet_in_range; it looks at the source only, as the kernel does,
// since it is used for source mappings).
func addrInRange(t *conntrack.Tuple, r *Range) bool {
	return cmpAddr(t.Family, &t.Src, &r.Min) >= 0 && cmpAddr(t.Family, &t.Src, &r.Max) <= 0
}

// hasPorts reports whether the kernel's NAT changes proto's ports (or
// ICMP ids): TCP, UDP, UDP-Lite and SCTP by port, ICMP and ICMPv6 by id
// (not DCCP: since 6.16 the kernel tracks it generically, without
// ports). GRE's keys (PPTP's call IDs) change only for a related
// connection (see portRange).
func hasPorts(proto uint8) bool {
	switch proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP:
		return true
	}
	return false
}

func isICMP(proto uint8) bool { return proto == packet.ProtoICMP || proto == packet.ProtoICMPv6 }

// key returns the port or ICMP id of t that manipulation m changes.
// ICMP's id is the same in both directions and lives in SrcPort.
func key(t *conntrack.Tuple, m Manip) *uint16 {
	if m == ManipDst && !isICMP(t.Proto) {
		return &t.DstPort
	}
	return &t.SrcPort
}

// l4InRange reports whether the port or id that m changes lies in
// [lo, hi] (l4proto_in_range). Protocols without ports are always in
// range.
func l4InRange(t *conntrack.Tuple, m Manip, lo, hi uint16) bool {
	if !hasPorts(t.Proto) && !isICMP(t.Proto) && t.Proto != packet.ProtoGRE {
		return true
	}
	k := *key(t, m)
	return k >= lo && k <= hi
}

// inRange reports whether mapping the source of a connection so that it
// looks like t meets r (in_range): the address if r maps addresses, the
// port if r has ports.
func inRange(t *conntrack.Tuple, r *Range) bool {
	if r.Flags&MapIPs != 0 && !addrInRange(t, r) {
		return false
	}
	if r.Flags&ProtoSpecified == 0 {
		return true
	}
	return l4InRange(t, ManipSrc, r.MinPort, r.MaxPort)
}

// portRange returns the ports (or ids) the port search may use for t under
// r and m, as first value and count, as nf_nat_l4proto_unique_tuple sets
// them up. ok is false when the kernel leaves the port alone: a protocol
// without ports, DNAT without a port range, or GRE unless related (the
// connection has a master, as PPTP's data connections do).
//
// Without a port range, SNAT keeps the port's class, a loose convention
// from BSD: below 512 stays in [1, 511] (">> 512 is credential passing"),
// 512 to 1023 goes to [600, 1023], and the rest to [1024, 65535]. ICMP ids
// use all 65536 values.
func portRange(t *conntrack.Tuple, r *Range, m Manip, related bool) (first, size uint32, ok bool) {
	switch {
	case isICMP(t.Proto):
		if r.Flags&ProtoSpecified == 0 {
			return 0, 65536, true
		}
		return uint32(r.MinPort), uint32(r.MaxPort) - uint32(r.MinPort) + 1, true
	case t.Proto == packet.ProtoGRE:
		// PPTP's call IDs, for a connection with a master only: a
		// plain GRE tunnel's keys are never changed.
		if !related {
			return 0, 0, false
		}
		if r.Flags&ProtoSpecified == 0 {
			return 1, 65535, true
		}
		lo, hi := uint32(r.MinPort), uint32(r.MaxPort)
		if hi < lo {
			lo, hi = hi, lo
		}
		return lo, hi - lo + 1, true
	case hasPorts(t.Proto):
	default:
		return 0, 0, false
	}
	if r.Flags&ProtoSpecified != 0 {
		lo, hi := uint32(r.MinPort), uint32(r.MaxPort)
		if hi < lo {
			lo, hi = hi, lo
		}
		return lo, hi - lo + 1, true
	}
	if m == ManipDst {
		return 0, 0, false
	}
	switch p := *key(t, m); {
	case p < 512:
		return 1, 511, true
	case p < 1024:
		return 600, 1023 - 600 + 1, true
	default:
		return 1024, 65535 - 1024 + 1, true
	}
}
