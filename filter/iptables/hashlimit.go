package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m hashlimit (libxt_hashlimit.c, revision 3), with packet rates
// ("10/sec") and byte rates ("512kb/s", the burst in bytes), and
// --hashlimit-rate-match with --hashlimit-rate-interval. With rate-match
// a packet rate is kept per second and the window defaults to the rate's
// unit, so "1/min" saves as "1/sec ... --hashlimit-rate-interval 60", as
// iptables-save prints it.
//
// iptables-save prints the rate in the largest unit that keeps it whole,
// always the burst, the mode, the name (unquoted: a name with a space
// does not read back), then the table parameters that differ from their
// defaults. The default expiry is the rate's unit in milliseconds (1000
// for /sec), so "--hashlimit-upto 60/min" saves as 1/sec with
// "--hashlimit-htable-expire 60000".
func init() {
	register(&extension{
		name:   "hashlimit",
		parser: func(rc *ruleContext) extParser { return newHashlimitParser(rc.family) },
		save:   saveHashlimit,
		owns:   ownedBy[filter.HashlimitMatch](),
	})
}

const (
	hashlimitDefaultBurst = 5
	hashlimitBurstMax     = 1000000
	hashlimitDefaultGC    = 1000
	hashlimitMaxSize      = 1 << 20 // HASHLIMIT_MAX_SIZE
	hashlimitNameLen      = 255     // NAME_MAX, with the NUL
	hashlimitByteExpire   = 15      // XT_HASHLIMIT_BYTE_EXPIRE, seconds
	// hashlimitByteExpireBurst is XT_HASHLIMIT_BYTE_EXPIRE_BURST, seconds.
	hashlimitByteExpireBurst = 60
)

// hashlimitByteUnits are print_bytes' units, largest first.
var hashlimitByteUnits = []struct {
	name   string
	thresh uint64
}{{"m", 1024 * 1024}, {"k", 1024}, {"", 1}}

var hashlimitUnits = []struct {
	name string
	mult uint64
}{
	{"day", 24 * 60 * 60 * filter.HashlimitScale},
	{"hour", 60 * 60 * filter.HashlimitScale},
	{"min", 60 * filter.HashlimitScale},
	{"sec", filter.HashlimitScale},
}

type hashlimitMatchParser struct {
	family packet.Family
	m      filter.HashlimitMatch
	seen   map[string]bool
	bytes  bool
	mult   uint64 // the rate's unit in seconds (udata->mult)
	burst  uint64
}

func newHashlimitParser(f packet.Family) *hashlimitMatchParser {
	bits := uint8(32)
	if f == packet.IPv6 {
		bits = 128
	}
	return &hashlimitMatchParser{
		family: f,
		m: filter.HashlimitMatch{Burst: hashlimitDefaultBurst, GCInterval: hashlimitDefaultGC,
			SrcMask: bits, DstMask: bits},
		seen: map[string]bool{},
		mult: 1,
	}
}

func (p *hashlimitMatchParser) option(name string, invert bool, a *args) error {
	key := name
	switch name {
	case "hashlimit", "hashlimit-upto":
		key = "hashlimit-upto"
	case "hashlimit-above", "hashlimit-mode", "hashlimit-name", "hashlimit-burst",
		"hashlimit-srcmask", "hashlimit-dstmask", "hashlimit-htable-size", "hashlimit-htable-max",
		"hashlimit-htable-gcinterval", "hashlimit-htable-expire", "hashlimit-rate-match",
		"hashlimit-rate-interval":
	default:
		return errNotMine
	}
	if p.seen[key] {
		return onceErr("hashlimit", name)
	}
	if key == "hashlimit-upto" && p.seen["hashlimit-above"] || key == "hashlimit-above" && p.seen["hashlimit-upto"] {
		return fmt.Errorf("%w: hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\"", ErrSyntax)
	}
	if invert && key != "hashlimit-upto" && key != "hashlimit-above" {
		return noInvertErr("hashlimit", name)
	}
	if key == "hashlimit-rate-match" {
		p.seen[key] = true
		return nil
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	bad := fmt.Errorf("%w: hashlimit: Bad value for \"--%s\" option: \"%s\"", ErrBadArgument, key, v)
	m := &p.m
	switch key {
	case "hashlimit-upto", "hashlimit-above":
		above := (key == "hashlimit-above") != invert
		if above {
			m.Mode |= filter.HashlimitAbove
		}
		if avg, ok := parseHashlimitBytes(v); ok {
			if avg == 0 {
				return fmt.Errorf("%w: Rate too high \"%s\"", ErrBadArgument, v)
			}
			m.Avg, p.bytes, p.mult = avg, true, hashlimitByteExpire
			break
		}
		avg, mult, err := parseHashlimitRate(v)
		if err != nil {
			return err
		}
		if avg == 0 {
			return bad
		}
		m.Avg, p.mult = avg, mult
	case "hashlimit-mode":
		for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
			switch tok {
			case "dstip":
				m.Mode |= filter.HashDstIP
			case "srcip":
				m.Mode |= filter.HashSrcIP
			case "srcport":
				m.Mode |= filter.HashSrcPort
			case "dstport":
				m.Mode |= filter.HashDstPort
			default:
				return bad
			}
		}
	case "hashlimit-name":
		if v == "" {
			return fmt.Errorf("%w: Argument must have a minimum length of 1 characters", ErrBadArgument)
		}
		if len(v) >= hashlimitNameLen {
			return fmt.Errorf("%w: hashlimit: argument to \"--%s\" is too long (max %d)", ErrBadArgument, name, hashlimitNameLen-1)
		}
		m.TableName = v
	case "hashlimit-burst":
		if p.burst, err = parseHashlimitBurst(v); err != nil {
			return err
		}
	case "hashlimit-srcmask", "hashlimit-dstmask":
		l, err := p.parsePlen(key, v)
		if err != nil {
			return err
		}
		if key == "hashlimit-srcmask" {
			m.SrcMask = l
		} else {
			m.DstMask = l
		}
	case "hashlimit-htable-size", "hashlimit-htable-max", "hashlimit-htable-gcinterval", "hashlimit-htable-expire":
		n, err := optUint("hashlimit", name, v, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		switch key {
		case "hashlimit-htable-size":
			m.Size = uint32(min(n, hashlimitMaxSize))
		case "hashlimit-htable-max":
			m.Max = uint32(n)
		case "hashlimit-htable-gcinterval":
			m.GCInterval = uint32(n)
		default:
			m.Expire = uint32(n)
		}
	case "hashlimit-rate-interval":
		n := atoi(v)
		if n == 0 || int32(n) < 0 || strings.HasPrefix(strings.TrimLeft(v, " \t"), "-") {
			return bad // atoi's value is not positive
		}
		m.Interval = uint32(n)
	}
	p.seen[key] = true
	return nil
}

// parsePlen is xtopt's XTTYPE_PLEN: a prefix length, or for IPv4 a
// contiguous dotted mask.
func (p *hashlimitMatchParser) parsePlen(option, s string) (uint8, error) {
	bits := uint64(32)
	if p.family == packet.IPv6 {
		bits = 128
	}
	bad := fmt.Errorf("%w: hashlimit: bad value for option \"--%s\", neither a valid network mask nor valid CIDR (0-%d)", ErrBadArgument, option, bits)
	if n, ok := strtoui(s, 0, bits); ok {
		return uint8(n), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || uint64(a.BitLen()) != bits {
		return 0, bad
	}
	n := filter.Net{Addr: a, Mask: a}.Bits()
	if n < 0 {
		return 0, bad
	}
	return uint8(n), nil
}

// parseHashlimitRate is libxt_hashlimit's parse_rate for revision 2 and
// later: atoll of the number, and a unit given by any prefix of second,
// minute, hour or day.
func parseHashlimitRate(s string) (avg, mult uint64, err error) {
	num, unit, slash := strings.Cut(s, "/")
	mult = 1
	if slash {
		u := strings.ToLower(unit)
		switch {
		case u == "":
			return 0, 0, nil
		case strings.HasPrefix("second", u):
			mult = 1
		case strings.HasPrefix("minute", u):
			mult = 60
		case strings.HasPrefix("hour", u):
			mult = 3600
		case strings.HasPrefix("day", u):
			mult = 86400
		default:
			return 0, 0, nil
		}
	}
	r, _, ok := cStrtoul(num, 10)
	if !ok || r == 0 {
		return 0, 0, nil
	}
	avg = filter.HashlimitScale * mult / r
	if avg == 0 {
		return 0, 0, fmt.Errorf("%w: Rate too fast \"%s\"", ErrBadArgument, s)
	}
	return avg, mult, nil
}

// parseHashlimitBytes is parse_bytes: "N[k|m]b/s", stored as a cost.
func parseHashlimitBytes(s string) (uint64, bool) {
	i := strings.Index(s, "b/s")
	if i <= 0 {
		return 0, false
	}
	r, _, ok := cStrtoul(s, 10)
	if !ok || r == 0 {
		return 0, false
	}
	return hashlimitBytesToCost(r * uint64(hashlimitFactor(s[i-1]))), true
}

func hashlimitFactor(c byte) uint32 {
	switch c {
	case 'm':
		return 1024 * 1024
	case 'k':
		return 1024
	}
	return 1
}

// hashlimitBytesToCost and hashlimitCostToBytes convert between a byte
// rate and the kernel's cost in 16-byte chunks (XT_HASHLIMIT_BYTE_SHIFT).
func hashlimitBytesToCost(b uint64) uint64 {
	return 0xFFFFFFFF / (uint64(uint32(b>>4)) + 1)
}

func hashlimitCostToBytes(cost uint64) uint64 {
	r := uint64(0xFFFFFFFF)
	if cost != 0 {
		r = 0xFFFFFFFF / cost
	}
	return (r - 1) << 4
}

// parseHashlimitBurst is parse_burst: a number (base 0) from 1 to 10^6,
// optionally followed by k or m, which multiply it (and skip the limit).
func parseHashlimitBurst(s string) (uint64, error) {
	v, rest, ok := cStrtoul(s, 0)
	if !ok || v < 1 || rest == "" && v > hashlimitBurstMax {
		return 0, fmt.Errorf("%w: bad value for option \"--hashlimit-burst\", or out of range (1-%d)", ErrBadArgument, hashlimitBurstMax)
	}
	f := uint64(1)
	if rest != "" {
		f = uint64(hashlimitFactor(rest[0]))
	}
	if v*f/f != v {
		return 0, fmt.Errorf("%w: bad value for option \"--hashlimit-burst\", value \"%s\" too large", ErrBadArgument, s)
	}
	return v * f, nil
}

func (p *hashlimitMatchParser) done() (any, error) {
	m := &p.m
	if !p.seen["hashlimit-upto"] && !p.seen["hashlimit-above"] {
		return nil, fmt.Errorf("%w: You have to specify --hashlimit", ErrSyntax)
	}
	if !p.seen["hashlimit-name"] {
		return nil, mustErr("hashlimit", "hashlimit-name")
	}
	if !p.seen["hashlimit-htable-expire"] {
		m.Expire = uint32(p.mult * 1000)
	}
	if p.seen["hashlimit-burst"] {
		m.Burst = p.burst
	}
	if p.bytes {
		// hashlimit_mt_check: the burst in bytes becomes a count of
		// rates, rounded up, and the default expiry grows to 60 s.
		m.Mode |= filter.HashlimitBytes
		m.Burst = 0
		if p.seen["hashlimit-burst"] {
			unit := hashlimitCostToBytes(m.Avg)
			if p.burst < unit {
				return nil, fmt.Errorf("%w: burst cannot be smaller than %db", ErrBadArgument, unit)
			}
			m.Burst = (p.burst + unit - 1) / unit
			if !p.seen["hashlimit-htable-expire"] {
				m.Expire = hashlimitByteExpireBurst * 1000
			}
		}
		if p.seen["hashlimit-rate-match"] {
			m.Mode |= filter.HashlimitRateMatch
			if m.Interval == 0 {
				m.Interval = 1
			}
		}
		return m, nil
	}
	if m.Burst > hashlimitBurstMax {
		return nil, fmt.Errorf("%w: bad value for option \"--hashlimit-burst\", or out of range (1-%d)", ErrBadArgument, hashlimitBurstMax)
	}
	if p.seen["hashlimit-rate-match"] {
		m.Mode |= filter.HashlimitRateMatch
		m.Avg /= p.mult
		if m.Interval == 0 {
			m.Interval = uint32(p.mult)
		}
	}
	return m, nil
}

// formatHashlimitRate is print_rate; it also returns the unit in
// milliseconds, the expiry iptables-save takes as the default.
func formatHashlimitRate(period uint64) (string, uint64) {
	if period == 0 {
		return "inf", 0
	}
	i := 1
	for ; i < len(hashlimitUnits); i++ {
		m := hashlimitUnits[i].mult
		if period > m || m/period < m%period {
			break
		}
	}
	u := hashlimitUnits[i-1]
	return strconv.FormatUint(u.mult/period, 10) + "/" + u.name, u.mult / filter.HashlimitScale * 1000
}

func saveHashlimit(w *saver, x any) {
	m := x.(*filter.HashlimitMatch)
	opt := "hashlimit-upto"
	if m.Mode&filter.HashlimitAbove != 0 {
		opt = "hashlimit-above"
	}
	var quantum uint64
	if m.Mode&filter.HashlimitBytes != 0 {
		// print_bytes.
		r := hashlimitCostToBytes(m.Avg)
		u := hashlimitByteUnits[len(hashlimitByteUnits)-1]
		for _, cand := range hashlimitByteUnits {
			if r >= cand.thresh && hashlimitBytesToCost(r&^(cand.thresh-1)) == m.Avg {
				u = cand
				break
			}
		}
		w.opt(false, opt, strconv.FormatUint(r/u.thresh, 10)+u.name+"b/s")
		quantum = hashlimitByteExpire * 1000
		if m.Burst != 0 {
			r *= m.Burst
			u = hashlimitByteUnits[len(hashlimitByteUnits)-1]
			for _, cand := range hashlimitByteUnits {
				if r >= cand.thresh {
					u = cand
					break
				}
			}
			w.opt(false, "hashlimit-burst", strconv.FormatUint(r/u.thresh, 10)+u.name+"b")
			quantum = hashlimitByteExpireBurst * 1000
		}
	} else {
		var rate string
		rate, quantum = formatHashlimitRate(m.Avg)
		w.opt(false, opt, rate)
		w.opt(false, "hashlimit-burst", strconv.FormatUint(m.Burst, 10))
	}
	if mode := m.Mode &^ (filter.HashlimitAbove | filter.HashlimitBytes | filter.HashlimitRateMatch); mode != 0 {
		var parts []string
		for _, f := range []struct {
			bit  filter.HashlimitMode
			name string
		}{{filter.HashSrcIP, "srcip"}, {filter.HashSrcPort, "srcport"}, {filter.HashDstIP, "dstip"}, {filter.HashDstPort, "dstport"}} {
			if mode&f.bit != 0 {
				parts = append(parts, f.name)
			}
		}
		w.opt(false, "hashlimit-mode", strings.Join(parts, ","))
	}
	w.opt(false, "hashlimit-name", quote(m.TableName))
	if m.Size != 0 {
		w.opt(false, "hashlimit-htable-size", strconv.FormatUint(uint64(m.Size), 10))
	}
	if m.Max != 0 {
		w.opt(false, "hashlimit-htable-max", strconv.FormatUint(uint64(m.Max), 10))
	}
	if m.GCInterval != hashlimitDefaultGC {
		w.opt(false, "hashlimit-htable-gcinterval", strconv.FormatUint(uint64(m.GCInterval), 10))
	}
	if uint64(m.Expire) != quantum {
		w.opt(false, "hashlimit-htable-expire", strconv.FormatUint(uint64(m.Expire), 10))
	}
	bits := uint8(32)
	if w.family == packet.IPv6 {
		bits = 128
	}
	if m.SrcMask != bits {
		w.opt(false, "hashlimit-srcmask", strconv.Itoa(int(m.SrcMask)))
	}
	if m.DstMask != bits {
		w.opt(false, "hashlimit-dstmask", strconv.Itoa(int(m.DstMask)))
	}
	if m.Mode&filter.HashlimitRateMatch != 0 {
		w.opt(false, "hashlimit-rate-match", "")
		if m.Interval != 1 {
			w.opt(false, "hashlimit-rate-interval", strconv.FormatUint(uint64(m.Interval), 10))
		}
	}
}
