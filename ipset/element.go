//lint:file-ignore ST1005 the messages are the original tool's, word for word

package ipset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// Element text is ipset's: the dimensions separated by commas, each as
// ipset takes it ("10.0.0.0/8", "10.0.0.1-10.0.0.9", "tcp:80-90",
// "icmp:echo-request", "AA:BB:CC:DD:EE:FF", "0x10", "physdev:eth0").
// An IPv4 range or CIDR given for an address expands into every address
// (stepped by the set's netmask), one given for a network into the
// fewest networks that cover it, and a port range into every port, as
// ipset adds and deletes them.

// Transport protocols whose ports are an element's port; for others the
// port is 0 (the kernel zeroes it), and ICMP's is its type and code.
const (
	protoICMP    = 1
	protoTCP     = 6
	protoUDP     = 17
	protoICMPv6  = 58
	protoSCTP    = 132
	protoUDPLite = 136
)

func hasPorts(proto uint8) bool {
	switch proto {
	case protoTCP, protoUDP, protoSCTP, protoUDPLite:
		return true
	}
	return false
}

// maxExpansion bounds how many elements one range may expand to
// (IPSET_MAX_RANGE, 2^20).
const maxExpansion = 1 << 20

// errRange is the kernel's answer to a range that is too large.
var errRange = errors.New("The range you specified exceeds the size limit of the set type")

// extra is what an element carries beside its key: bitmap:ip,mac keeps
// its MAC address outside the key, one per address.
type extra struct {
	mac    [6]byte
	hasMAC bool
}

// dimValues is one dimension's parsed value: a range of IPv4 addresses,
// an IPv6 address, networks, a port range, a MAC, a mark, an interface
// or a set name.
type dimValues struct {
	v4from, v4to uint32
	v6           [16]byte
	nets         []netVal
	proto        uint8
	portFrom     uint16
	portTo       uint16
	mac          [6]byte
	mark         uint32
	iface        ifaceName
}

type netVal struct {
	ip   [16]byte
	cidr uint8
}

// parseElement parses text as an element of s and calls fn for each key
// it stands for.
func (s *Set) parseElement(text string, fn func(key, extra) error) error {
	t := s.typ
	parts := strings.Split(text, ",")
	want := len(t.dims)
	switch {
	case t.name == "bitmap:ip,mac" && len(parts) == 1:
	case len(parts) < want:
		return fmt.Errorf("%w: %s element is missing from %s.", ErrSyntax, ordinal[len(parts)], text)
	case len(parts) > want:
		return fmt.Errorf("%w: %s in %s, but settype %s supports %s.", ErrSyntax, separators(len(parts)-1), text, t.name, supports[want-1])
	}
	vals := make([]dimValues, len(parts))
	addr := 0 // which address dimension comes next
	for i, p := range parts {
		v := &vals[i]
		var err error
		switch t.dims[i] {
		case dimIP:
			err = s.parseIPDim(p, v, addr == 0)
			addr++
		case dimNet:
			err = s.parseNetDim(p, v)
			addr++
		case dimPort:
			err = s.parsePortDim(p, v)
		case dimMAC:
			v.mac, err = parseMAC(p)
		case dimMark:
			var m uint64
			m, err = parseNumber(p, 32)
			v.mark = uint32(m) & s.opts.markMask()
		case dimIface:
			v.iface, err = parseIface(p)
		}
		if err != nil {
			return err
		}
	}
	total := 1
	for i := range vals {
		total *= vals[i].count(t.dims[i], s.opts.Netmask)
		if total > maxExpansion {
			return errRange
		}
	}
	return s.expand(vals, 0, 0, key{}, fn)
}

var ordinal = []string{"", "Second", "Third"}

func separators(n int) string {
	switch n {
	case 1:
		return "Elem separator"
	case 2:
		return "Two elem separators"
	}
	return strconv.Itoa(n) + " elem separators"
}

var supports = []string{"none", "one", "two"}

// count is how many values v stands for.
func (v *dimValues) count(d dim, netmask uint8) int {
	switch d {
	case dimIP:
		if netmask == 0 {
			netmask = 32
		}
		return int((uint64(v.v4to)-uint64(v.v4from))>>(32-netmask)) + 1
	case dimNet:
		return len(v.nets)
	case dimPort:
		return int(v.portTo) - int(v.portFrom) + 1
	}
	return 1
}

// expand calls fn for every key of the product of vals, from dimension
// i on, the address dimensions so far having filled addr of them.
func (s *Set) expand(vals []dimValues, i, addr int, k key, fn func(key, extra) error) error {
	if i == len(vals) {
		return fn(k, extra{})
	}
	v := &vals[i]
	switch s.typ.dims[i] {
	case dimIP:
		if s.opts.Family == packet.IPv6 {
			s.setAddr(&k, addr, mask(v.v6, s.ipPrefix()), 0)
			return s.expand(vals, i+1, addr+1, k, fn)
		}
		step := uint64(1) << (32 - s.ipPrefix())
		for a := uint64(v.v4from); a <= uint64(v.v4to); a += step {
			var ip [16]byte
			binary.BigEndian.PutUint32(ip[:], uint32(a))
			s.setAddr(&k, addr, ip, 0)
			if err := s.expand(vals, i+1, addr+1, k, fn); err != nil {
				return err
			}
		}
		return nil
	case dimNet:
		for _, n := range v.nets {
			s.setAddr(&k, addr, n.ip, n.cidr)
			if err := s.expand(vals, i+1, addr+1, k, fn); err != nil {
				return err
			}
		}
		return nil
	case dimPort:
		k.proto = v.proto
		for p := int(v.portFrom); p <= int(v.portTo); p++ {
			k.port = uint16(p)
			if err := s.expand(vals, i+1, addr, k, fn); err != nil {
				return err
			}
		}
		return nil
	case dimMAC:
		if s.typ.storage == bitmapStorage {
			// bitmap:ip,mac: the MAC is the address's, not a key.
			return fn(k, extra{mac: v.mac, hasMAC: true})
		}
		k.mac = v.mac
	case dimMark:
		k.mark = v.mark
	case dimIface:
		k.iface = v.iface
	}
	return s.expand(vals, i+1, addr, k, fn)
}

func (s *Set) setAddr(k *key, n int, ip [16]byte, cidr uint8) {
	if n == 0 {
		k.ip, k.cidr = ip, cidr
	} else {
		k.ip2, k.cidr2 = ip, cidr
	}
}

// ipPrefix is the prefix length an address element is stored at: the
// set's netmask, or the whole address.
func (s *Set) ipPrefix() uint8 {
	if s.opts.Netmask != 0 {
		return s.opts.Netmask
	}
	if s.opts.Family == packet.IPv6 {
		return 128
	}
	return 32
}

// parseAddr parses one address of the set's family.
func (s *Set) parseAddr(text string) ([16]byte, error) {
	var out [16]byte
	a, err := netip.ParseAddr(text)
	if s.opts.Family == packet.IPv6 {
		if err != nil || !a.Is6() {
			return out, fmt.Errorf("%w: cannot parse %s: resolving to IPv6 address failed", ErrSyntax, text)
		}
		return a.As16(), nil
	}
	if err != nil || !a.Is4() {
		return out, fmt.Errorf("%w: cannot parse %s: resolving to IPv4 address failed", ErrSyntax, text)
	}
	a4 := a.As4()
	copy(out[:], a4[:])
	return out, nil
}

func (s *Set) maxPrefix() int {
	if s.opts.Family == packet.IPv6 {
		return 128
	}
	return 32
}

// parseIPDim parses an address dimension: for IPv4 an address, a range
// or a CIDR (the first address dimension only), for IPv6 one address.
func (s *Set) parseIPDim(text string, v *dimValues, first bool) error {
	if s.opts.Family == packet.IPv6 {
		if strings.ContainsAny(text, "/-") {
			return fmt.Errorf("%w: plain IP address must be supplied: %s", ErrSyntax, text)
		}
		ip, err := s.parseAddr(text)
		v.v6 = ip
		return err
	}
	if !first && strings.ContainsAny(text, "/-") {
		return fmt.Errorf("%w: plain IP address must be supplied: %s", ErrSyntax, text)
	}
	from, to, err := s.parseV4Span(text)
	v.v4from, v.v4to = from, to
	if err == nil && s.opts.Netmask != 0 {
		m := ^uint32(0) << (32 - s.opts.Netmask)
		v.v4from &= m
		v.v4to &= m
	}
	return err
}

// parseV4Span parses an IPv4 address, "a-b" or "a/cidr" as the first and
// last address.
func (s *Set) parseV4Span(text string) (uint32, uint32, error) {
	if a, b, ok := strings.Cut(text, "-"); ok {
		x, err := s.parseAddr(a)
		if err != nil {
			return 0, 0, err
		}
		y, err := s.parseAddr(b)
		if err != nil {
			return 0, 0, err
		}
		from, to := binary.BigEndian.Uint32(x[:]), binary.BigEndian.Uint32(y[:])
		if from > to {
			from, to = to, from
		}
		return from, to, nil
	}
	if a, c, ok := strings.Cut(text, "/"); ok {
		x, err := s.parseAddr(a)
		if err != nil {
			return 0, 0, err
		}
		cidr, err := parseCIDR(c, 32)
		if err != nil {
			return 0, 0, err
		}
		from := binary.BigEndian.Uint32(x[:])
		m := uint32(0)
		if cidr > 0 {
			m = ^uint32(0) << (32 - cidr)
		}
		return from & m, from | ^m, nil
	}
	x, err := s.parseAddr(text)
	if err != nil {
		return 0, 0, err
	}
	a := binary.BigEndian.Uint32(x[:])
	return a, a, nil
}

func parseCIDR(text string, maxBits int) (uint8, error) {
	n, err := strconv.ParseUint(text, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%w: '%s' is invalid as number", ErrSyntax, text)
	}
	if int(n) > maxBits {
		return 0, fmt.Errorf("%w: '%s' is out of range 0-%d", ErrSyntax, text, maxBits)
	}
	return uint8(n), nil
}

// errCIDR is the kernel's answer to a network of prefix length 0.
var errCIDR = errors.New("The value of the CIDR parameter of the IP address is invalid")

// parseNetDim parses a network dimension: an address with an optional
// prefix length, or an IPv4 range, which becomes the networks that
// cover it (ip_set_range_to_cidr).
func (s *Set) parseNetDim(text string, v *dimValues) error {
	if a, b, ok := strings.Cut(text, "-"); ok {
		if s.opts.Family == packet.IPv6 {
			return fmt.Errorf("%w: IPv6 ranges are not supported: %s", ErrSyntax, text)
		}
		x, err := s.parseAddr(a)
		if err != nil {
			return err
		}
		y, err := s.parseAddr(b)
		if err != nil {
			return err
		}
		from, to := binary.BigEndian.Uint32(x[:]), binary.BigEndian.Uint32(y[:])
		if from > to {
			from, to = to, from
		}
		v.nets = rangeToNets(from, to)
		return nil
	}
	addr, c, hasCIDR := strings.Cut(text, "/")
	ip, err := s.parseAddr(addr)
	if err != nil {
		return err
	}
	cidr := uint8(s.maxPrefix())
	if hasCIDR {
		if cidr, err = parseCIDR(c, s.maxPrefix()); err != nil {
			return err
		}
		if cidr == 0 {
			return errCIDR
		}
	}
	v.nets = []netVal{{ip: mask(ip, cidr), cidr: cidr}}
	return nil
}

// rangeToNets returns the fewest networks that cover from..to, in order.
func rangeToNets(from, to uint32) []netVal {
	var out []netVal
	for a := uint64(from); a <= uint64(to); {
		bits := 32
		for bits > 1 {
			size := uint64(1) << (33 - bits)
			if a%size != 0 || a+size-1 > uint64(to) {
				break
			}
			bits--
		}
		var ip [16]byte
		binary.BigEndian.PutUint32(ip[:], uint32(a))
		out = append(out, netVal{ip: ip, cidr: uint8(bits)})
		a += uint64(1) << (32 - bits)
	}
	return out
}

// parsePortDim parses "[proto:]port[-port]" (the protocol defaulting to
// tcp), "icmp:type/code" or "icmp:name", or for bitmap:port a port or a
// range with an optional protocol, which it ignores.
func (s *Set) parsePortDim(text string, v *dimValues) error {
	protoText, portText, hasProto := strings.Cut(text, ":")
	if !hasProto {
		protoText, portText = "tcp", text
	}
	proto, ok := protocolNumber(protoText)
	if strings.EqualFold(protoText, "icmpv6") {
		proto, ok = protoICMPv6, true
	}
	if !ok {
		return fmt.Errorf("%w: cannot parse '%s' as a protocol", ErrSyntax, protoText)
	}
	if proto == 0 {
		return errors.New("Invalid protocol specified")
	}
	if s.typ.storage == bitmapStorage {
		// bitmap:port keeps ports only.
		proto = 0
	}
	switch proto {
	case protoICMP, protoICMPv6:
		v6 := proto == protoICMPv6
		if v6 != (s.opts.Family == packet.IPv6) {
			if v6 {
				return fmt.Errorf("%w: Protocol ICMPv6 can be used with family inet6 only", ErrSyntax)
			}
			return fmt.Errorf("%w: Protocol ICMP can be used with family inet only", ErrSyntax)
		}
		typ, code, ok := icmpByName(portText, v6)
		if !ok {
			t, c, slash := strings.Cut(portText, "/")
			tn, err1 := strconv.ParseUint(t, 10, 8)
			cn, err2 := strconv.ParseUint(c, 10, 8)
			if !slash || err1 != nil || err2 != nil {
				what := "ICMP"
				if v6 {
					what = "ICMPv6"
				}
				return fmt.Errorf("Cannot parse %s as an %s type/code.", portText, what)
			}
			typ, code = uint8(tn), uint8(cn)
		}
		v.proto = proto
		v.portFrom = uint16(typ)<<8 | uint16(code)
		v.portTo = v.portFrom
		return nil
	}
	v.proto = proto
	pname := "tcp"
	if proto != 0 {
		pname = protocolName(proto)
	}
	a, b, isRange := strings.Cut(portText, "-")
	from, err := parsePort(a, pname)
	if err != nil {
		return err
	}
	to := from
	if isRange {
		if to, err = parsePort(b, pname); err != nil {
			return err
		}
	}
	if from > to {
		from, to = to, from
	}
	if !hasPorts(proto) && s.typ.storage != bitmapStorage {
		from, to = 0, 0
	}
	v.portFrom, v.portTo = from, to
	return nil
}

func parsePort(text, proto string) (uint16, error) {
	if p, ok := servicePort(text, proto); ok {
		return p, nil
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot parse '%s' as a %s port", ErrSyntax, text, proto)
	}
	if n > 65535 {
		return 0, fmt.Errorf("%w: '%s' is out of range 0-65535", ErrSyntax, text)
	}
	return uint16(n), nil
}

func parseMAC(text string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(text, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("%w: cannot parse '%s' as ethernet address", ErrSyntax, text)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) == 0 || len(p) > 2 {
			return m, fmt.Errorf("%w: cannot parse '%s' as ethernet address", ErrSyntax, text)
		}
		m[i] = byte(n)
	}
	return m, nil
}

// parseNumber parses a decimal or 0x-prefixed hexadecimal number of at
// most bits bits, as ipset's number options take it.
func parseNumber(text string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(text, 0, bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%w: '%s' is out of range 0-%d", ErrSyntax, text, uint64(1)<<bits-1)
		}
		return 0, fmt.Errorf("%w: '%s' is invalid as number", ErrSyntax, text)
	}
	return n, nil
}

func parseIface(text string) (ifaceName, error) {
	var n ifaceName
	if rest, ok := strings.CutPrefix(text, "physdev:"); ok {
		n.physdev = true
		text = rest
	}
	if len(text) > len(n.name) {
		return n, fmt.Errorf("%w: interface name '%s' is longer than %d characters", ErrSyntax, text, len(n.name))
	}
	if text == "" {
		return n, fmt.Errorf("%w: interface name must be supplied", ErrSyntax)
	}
	n.n = uint8(copy(n.name[:], text))
	return n, nil
}

// formatElement writes e's element as ipset prints it.
func (s *Set) formatElement(b *strings.Builder, e *entry) {
	k := &e.k
	addr := 0
	for i, d := range s.typ.dims {
		if i > 0 {
			if d == dimMAC && s.typ.storage == bitmapStorage && !e.hasMAC {
				break
			}
			b.WriteByte(',')
		}
		switch d {
		case dimIP, dimNet:
			ip, cidr := k.ip, k.cidr
			if addr == 1 {
				ip, cidr = k.ip2, k.cidr2
			}
			addr++
			s.writeAddr(b, ip)
			if d == dimNet && int(cidr) != s.maxPrefix() {
				b.WriteByte('/')
				b.WriteString(strconv.Itoa(int(cidr)))
			}
		case dimPort:
			if s.typ.storage == bitmapStorage {
				b.WriteString(strconv.Itoa(int(k.port)))
				continue
			}
			b.WriteString(protocolName(k.proto))
			b.WriteByte(':')
			switch k.proto {
			case protoICMP, protoICMPv6:
				b.WriteString(icmpText(uint8(k.port>>8), uint8(k.port), k.proto == protoICMPv6))
			default:
				b.WriteString(strconv.Itoa(int(k.port)))
			}
		case dimMAC:
			m := k.mac
			if s.typ.storage == bitmapStorage {
				m = e.mac
			}
			fmt.Fprintf(b, "%02X:%02X:%02X:%02X:%02X:%02X", m[0], m[1], m[2], m[3], m[4], m[5])
		case dimMark:
			fmt.Fprintf(b, "0x%08x", k.mark)
		case dimIface:
			if k.iface.physdev {
				b.WriteString("physdev:")
			}
			b.WriteString(k.iface.String())
		case dimSet:
			b.WriteString(e.member.Name())
		}
	}
}

func (s *Set) writeAddr(b *strings.Builder, ip [16]byte) {
	if s.opts.Family == packet.IPv6 {
		b.WriteString(netip.AddrFrom16(ip).String())
		return
	}
	b.WriteString(netip.AddrFrom4([4]byte(ip[:4])).String())
}
