package filter

import (
	"net/netip"
	"sync/atomic"

	"github.com/nfgo/nfgo/packet"
)

// A Rule is one iptables rule: the fixed header (-p, -s, -d, -i, -o, -f),
// the matches loaded with -m, and the target given with -j or -g.
type Rule struct {
	Header
	// Matches run in order after the header; all must match.
	Matches []Match
	// Target runs when the header and every match matched. A nil Target
	// makes a counting rule: it counts and the traversal continues.
	Target Target
	// Line is the source line the rule came from (0 when built in Go).
	Line int

	// Counters are the rule's packet and byte counters (iptables -v).
	Counters Counters
}

// Counters count packets and bytes. They are updated atomically, so a
// Program shared by several goroutines stays exact.
//
// A rule that every packet meets (the ESTABLISHED one) would have every
// goroutine write the same cache line. So counters are striped, as the
// kernel keeps them per CPU: each Context counts into its stripe
// (Context.CounterStripe). A counter stays one pair of words while one
// stripe alone counts into it; when a second one does, it gets a stripe
// per cache line, and Load sums them.
type Counters struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	// owner is 1 + the stripe counting into packets and bytes, 0 until
	// one has; stripes, once a second stripe has counted, take every
	// count (packets and bytes keep what was counted before).
	owner   atomic.Uint32
	stripes atomic.Pointer[counterStripes]
}

// CounterStripes is how many stripes a counter spreads over.
const CounterStripes = 8

type counterStripes [CounterStripes]struct {
	packets, bytes atomic.Uint64
	_              [48]byte // a cache line each
}

// Add counts one packet of n bytes, in stripe 0.
func (c *Counters) Add(n int) { c.AddStripe(n, 0) }

// AddStripe counts one packet of n bytes in stripe (taken modulo
// CounterStripes).
func (c *Counters) AddStripe(n int, stripe uint32) {
	stripe %= CounterStripes
	if s := c.stripes.Load(); s != nil {
		s[stripe].packets.Add(1)
		s[stripe].bytes.Add(uint64(n))
		return
	}
	if o := c.owner.Load(); o == stripe+1 || o == 0 && c.owner.CompareAndSwap(0, stripe+1) {
		c.packets.Add(1)
		c.bytes.Add(uint64(n))
		return
	}
	// A second stripe counts: from now on each has a line of its own.
	// (The one allocation happens once per counter, when it first
	// becomes shared.)
	s := new(counterStripes)
	if !c.stripes.CompareAndSwap(nil, s) {
		s = c.stripes.Load()
	}
	s[stripe].packets.Add(1)
	s[stripe].bytes.Add(uint64(n))
}

// Set overwrites the counters, as iptables-restore -c does.
func (c *Counters) Set(packets, bytes uint64) {
	c.packets.Store(packets)
	c.bytes.Store(bytes)
	if s := c.stripes.Load(); s != nil {
		for i := range s {
			s[i].packets.Store(0)
			s[i].bytes.Store(0)
		}
	}
}

// Load returns the packet and byte counts.
func (c *Counters) Load() (packets, bytes uint64) {
	packets, bytes = c.packets.Load(), c.bytes.Load()
	if s := c.stripes.Load(); s != nil {
		for i := range s {
			packets += s[i].packets.Load()
			bytes += s[i].bytes.Load()
		}
	}
	return packets, bytes
}

// Header is the part of a rule every rule has (struct ipt_ip): protocol,
// addresses, interfaces and the fragment flag.
type Header struct {
	// Proto is the -p protocol number; 0 means any ("all").
	Proto       uint8
	ProtoInvert bool
	// Src and Dst are -s and -d. A zero Net matches anything.
	Src, Dst             Net
	SrcInvert, DstInvert bool
	// In and Out are -i and -o. An empty Iface matches any interface.
	In, Out Iface
	// Fragment is -f (IPv4 only).
	Fragment Tristate
}

// Tristate is an optional boolean condition: unset, required true (-f) or
// required false (! -f).
type Tristate uint8

// The Tristate values.
const (
	Unset Tristate = iota
	Yes
	No
)

// Net is an address with a mask: iptables allows non-contiguous masks
// (-s 10.0.0.1/255.0.255.0), so it is not a netip.Prefix. The address is
// stored already masked, as the kernel stores it.
type Net struct {
	Addr netip.Addr
	Mask netip.Addr
}

// NetFromPrefix returns the Net for a prefix, masked.
func NetFromPrefix(p netip.Prefix) Net {
	p = p.Masked()
	return Net{Addr: p.Addr(), Mask: maskOf(p.Addr().BitLen(), p.Bits())}
}

func maskOf(bitLen, ones int) netip.Addr {
	var b [16]byte
	for i := 0; i < ones && i < bitLen; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if bitLen == 32 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// IsZero reports whether n is unset (matches every address).
func (n Net) IsZero() bool { return !n.Addr.IsValid() }

// Bits returns the prefix length of a contiguous mask, or -1 for a
// non-contiguous one.
func (n Net) Bits() int {
	if !n.Mask.IsValid() {
		return 0
	}
	ones, seenZero := 0, false
	for _, b := range n.Mask.AsSlice() {
		for bit := 7; bit >= 0; bit-- {
			switch set := b&(1<<bit) != 0; {
			case set && seenZero:
				return -1
			case set:
				ones++
			default:
				seenZero = true
			}
		}
	}
	return ones
}

// Contains reports whether a is in the network.
func (n Net) Contains(a netip.Addr) bool {
	if !n.Addr.IsValid() {
		return true
	}
	if n.Addr.Is4() != a.Is4() {
		return false
	}
	if n.Addr.Is4() {
		x, m, v := n.Addr.As4(), n.Mask.As4(), a.As4()
		return (be32(v[:]) & be32(m[:])) == be32(x[:])
	}
	x, m, v := n.Addr.As16(), n.Mask.As16(), a.As16()
	for i := range x {
		if v[i]&m[i] != x[i] {
			return false
		}
	}
	return true
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Iface is an interface name for -i/-o. A trailing '+' in iptables syntax
// makes it a prefix match; Wildcard records that and Name holds the name
// without the '+'.
type Iface struct {
	Name     string
	Wildcard bool
	Invert   bool
}

// IsZero reports whether the Iface is unset.
func (i Iface) IsZero() bool { return i.Name == "" && !i.Wildcard }

// Matches reports whether the interface called name matches, before
// inversion. An unset Iface matches everything.
func (i Iface) matches(name string) bool {
	if i.Wildcard {
		return len(name) >= len(i.Name) && name[:len(i.Name)] == i.Name
	}
	return name == i.Name
}

// Matches reports whether the header matches the packet in c. Programs
// use a compiled form of the same test.
func (h *Header) Matches(c *Context) bool {
	ch, a := compileHeader(h), loadAddrs(c.Packet)
	return ch.matches(c, &a)
}

// A Match is an extension loaded with -m (or implied by -p). It reports
// whether a packet matches; inversion (!) is part of each match's state.
type Match interface {
	// Match reports whether the packet in c matches.
	Match(c *Context) bool
}

// A Target is what -j names. Do runs it on the packet in c and says how
// the traversal goes on.
type Target interface {
	Do(c *Context) Verdict
}

// Restricted is implemented by matches and targets that the kernel allows
// only in some tables or at some hooks (xt_match.table / .hooks), so that
// Compile can reject misuse as the kernel does.
type Restricted interface {
	// Allowed returns the tables (0: any) and hooks (0: any) where the
	// extension may be used.
	Allowed() (TableMask, HookMask)
}

// RuleChecker is implemented by extensions whose validity depends on the
// rest of the rule or on where it is, as some kernel checkentry functions
// do (TCPMSS needs -p tcp; tcp needs -p tcp; CT --helper needs a helper
// of the rule's family and protocol).
type RuleChecker interface {
	CheckRule(r *Rule, at Site) error
}

// Site is where a rule is, for RuleChecker.
type Site struct {
	// Family is the ruleset's family.
	Family packet.Family
	// Table is the rule's table.
	Table TableID
	// Hooks are the hooks the rule's chain is reachable from (0 if
	// unreachable).
	Hooks HookMask
}

// NeedsConntrack is implemented by matches and targets that act on
// connection tracking state (state, conntrack, connmark, CT …). They load
// and validate; without conntrack they see every packet as untracked.
type NeedsConntrack interface {
	NeedsConntrack() bool
}
