package iptables

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Parsing helpers shared by the match extensions. They reproduce the
// libxtables functions iptables 1.8.9 parses with, quirks included,
// because nfgo must accept and reject exactly what iptables-restore does.

// cStrtoul parses the longest prefix of s that C's strtoumax(s, &end,
// base) takes: leading white space, an optional sign (a '-' negates
// modulo 2^64), and for base 0 a "0x" (hex) or "0" (octal) prefix. It
// returns the value, the unparsed rest, and ok=false when no digit was
// read or the value overflowed (ERANGE).
func cStrtoul(s string, base int) (v uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' && digitVal(s[i+2]) < 16 {
		i += 2
		base = 16
	} else if base == 0 {
		base = 10
		if i < len(s) && s[i] == '0' {
			base = 8
		}
	}
	start := i
	overflow := false
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		nv := v*uint64(base) + uint64(d)
		if nv/uint64(base) != v {
			overflow = true
		}
		v = nv
		i++
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		v = -v
	}
	return v, s[i:], !overflow
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// strtoui is xtables_strtoui with end == NULL: the whole of s must be a
// number (base 0: decimal, 0x hex or 0 octal) within [lo, hi].
func strtoui(s string, lo, hi uint64) (uint64, bool) {
	if strings.HasPrefix(strings.TrimLeft(s, " \t\n\v\f\r"), "-") {
		return 0, false // xtables_strtoul refuses what strtoul would wrap
	}
	v, rest, ok := cStrtoul(s, 0)
	return v, ok && rest == "" && v >= lo && v <= hi
}

// strtouiPrefix is xtables_strtoui with an end pointer: a number at the
// start of s, within [lo, hi], and the rest of s.
func strtouiPrefix(s string, lo, hi uint64) (uint64, string, bool) {
	if strings.HasPrefix(strings.TrimLeft(s, " \t\n\v\f\r"), "-") {
		return 0, s, false
	}
	v, rest, ok := cStrtoul(s, 0)
	return v, rest, ok && v >= lo && v <= hi
}

// optUint parses an xtopt XTTYPE_UINT* argument, with its error text.
func optUint(ext, option, s string, lo, hi uint64) (uint64, error) {
	v, ok := strtoui(s, lo, hi)
	if !ok {
		return 0, fmt.Errorf("%w: %s: bad value for option \"--%s\" near \"%s\", or out of range (%d-%d)", ErrBadArgument, ext, option, s, lo, hi)
	}
	return v, nil
}

// optUintRange parses an xtopt XTTYPE_UINT32RC argument, "a[:b]", where a
// missing bound is 0 or hi.
func optUintRange(ext, option, s string, hi uint64) (lo, up uint64, err error) {
	bad := fmt.Errorf("%w: %s: bad value for option \"--%s\" near \"%s\", or out of range (0-%d)", ErrBadArgument, ext, option, s, hi)
	a, b, two := strings.Cut(s, ":")
	if strings.Contains(b, ":") {
		return 0, 0, bad
	}
	var ok bool
	if a != "" || !two {
		if lo, ok = strtoui(a, 0, hi); !ok {
			return 0, 0, bad
		}
	}
	up = lo
	if two {
		up = hi
		if b != "" {
			if up, ok = strtoui(b, 0, hi); !ok {
				return 0, 0, bad
			}
		}
	}
	return lo, up, nil
}

// parseMarkMask parses "value[/mask]" as xtopt's XTTYPE_MARKMASK32 does;
// the mask defaults to all ones.
func parseMarkMask(ext, option, s string) (value, mask uint32, err error) {
	bad := fmt.Errorf("%w: %s: bad integer value for option \"--%s\", or out of range", ErrBadArgument, ext, option)
	v, rest, ok := strtouiPrefix(s, 0, 0xFFFFFFFF)
	if !ok {
		return 0, 0, bad
	}
	m := uint64(0xFFFFFFFF)
	if strings.HasPrefix(rest, "/") {
		if m, rest, ok = strtouiPrefix(rest[1:], 0, 0xFFFFFFFF); !ok {
			return 0, 0, bad
		}
	}
	if rest != "" {
		return 0, 0, bad
	}
	return uint32(v), uint32(m), nil
}

// formatMarkMask prints a mark as iptables-save does: "0x%x", with
// "/0x%x" unless the mask is all ones.
func formatMarkMask(v, m uint32) string {
	if m == 0xFFFFFFFF {
		return "0x" + strconv.FormatUint(uint64(v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16) + "/0x" + strconv.FormatUint(uint64(m), 16)
}

// Service protocols, for the built-in services table.
const (
	svcTCP = 1 << iota
	svcUDP
)

// services are the /etc/services names (Debian netbase) that port
// options accept. iptables asks getservbyname; nfgo carries the common
// names itself so that a ruleset parses the same on every machine.
var services = []struct {
	name  string
	port  uint16
	proto uint8
}{
	{"echo", 7, svcTCP | svcUDP},
	{"discard", 9, svcTCP | svcUDP},
	{"null", 9, svcTCP | svcUDP},
	{"sink", 9, svcTCP | svcUDP},
	{"daytime", 13, svcTCP | svcUDP},
	{"ftp-data", 20, svcTCP},
	{"ftp", 21, svcTCP},
	{"ssh", 22, svcTCP},
	{"telnet", 23, svcTCP},
	{"mail", 25, svcTCP},
	{"smtp", 25, svcTCP},
	{"time", 37, svcTCP | svcUDP},
	{"timserver", 37, svcTCP | svcUDP},
	{"nicname", 43, svcTCP},
	{"whois", 43, svcTCP},
	{"tacacs", 49, svcTCP | svcUDP},
	{"domain", 53, svcTCP | svcUDP},
	{"bootps", 67, svcUDP},
	{"bootpc", 68, svcUDP},
	{"tftp", 69, svcUDP},
	{"gopher", 70, svcTCP},
	{"finger", 79, svcTCP},
	{"http", 80, svcTCP},
	{"www", 80, svcTCP},
	{"kerberos", 88, svcTCP | svcUDP},
	{"kerberos-sec", 88, svcTCP | svcUDP},
	{"kerberos5", 88, svcTCP | svcUDP},
	{"krb5", 88, svcTCP | svcUDP},
	{"pop-3", 110, svcTCP},
	{"pop3", 110, svcTCP},
	{"portmapper", 111, svcTCP | svcUDP},
	{"sunrpc", 111, svcTCP | svcUDP},
	{"auth", 113, svcTCP},
	{"authentication", 113, svcTCP},
	{"ident", 113, svcTCP},
	{"tap", 113, svcTCP},
	{"nntp", 119, svcTCP},
	{"readnews", 119, svcTCP},
	{"untp", 119, svcTCP},
	{"ntp", 123, svcUDP},
	{"epmap", 135, svcTCP},
	{"loc-srv", 135, svcTCP},
	{"netbios-ns", 137, svcUDP},
	{"netbios-dgm", 138, svcUDP},
	{"netbios-ssn", 139, svcTCP},
	{"imap", 143, svcTCP},
	{"imap2", 143, svcTCP},
	{"snmp", 161, svcTCP | svcUDP},
	{"snmp-trap", 162, svcTCP | svcUDP},
	{"snmptrap", 162, svcTCP | svcUDP},
	{"bgp", 179, svcTCP},
	{"ldap", 389, svcTCP | svcUDP},
	{"https", 443, svcTCP | svcUDP},
	{"microsoft-ds", 445, svcTCP},
	{"smtps", 465, svcTCP},
	{"ssmtp", 465, svcTCP},
	{"submissions", 465, svcTCP},
	{"urd", 465, svcTCP},
	{"isakmp", 500, svcUDP},
	{"exec", 512, svcTCP},
	{"login", 513, svcTCP},
	{"cmd", 514, svcTCP},
	{"shell", 514, svcTCP},
	{"syslog", 514, svcTCP | svcUDP},
	{"printer", 515, svcTCP},
	{"spooler", 515, svcTCP},
	{"submission", 587, svcTCP},
	{"ipp", 631, svcTCP},
	{"ldaps", 636, svcTCP | svcUDP},
	{"domain-s", 853, svcTCP | svcUDP},
	{"rsync", 873, svcTCP},
	{"imaps", 993, svcTCP},
	{"pop3s", 995, svcTCP},
	{"socks", 1080, svcTCP},
	{"openvpn", 1194, svcTCP | svcUDP},
	{"ms-sql-s", 1433, svcTCP},
	{"l2f", 1701, svcUDP},
	{"l2tp", 1701, svcUDP},
	{"radius", 1812, svcTCP | svcUDP},
	{"radacct", 1813, svcTCP | svcUDP},
	{"radius-acct", 1813, svcTCP | svcUDP},
	{"nfs", 2049, svcTCP | svcUDP},
	{"mysql", 3306, svcTCP},
	{"ms-wbt-server", 3389, svcTCP},
	{"ipsec-nat-t", 4500, svcUDP},
	{"sip", 5060, svcTCP | svcUDP},
	{"sip-tls", 5061, svcTCP | svcUDP},
	{"jabber-client", 5222, svcTCP},
	{"xmpp-client", 5222, svcTCP},
	{"jabber-server", 5269, svcTCP},
	{"xmpp-server", 5269, svcTCP},
	{"mdns", 5353, svcUDP},
	{"postgres", 5432, svcTCP},
	{"postgresql", 5432, svcTCP},
	{"x11", 6000, svcTCP},
	{"x11-0", 6000, svcTCP},
	{"http-alt", 8080, svcTCP},
	{"webcache", 8080, svcTCP},
	{"git", 9418, svcTCP},
	{"hkp", 11371, svcTCP},
}

// lookupService returns the port of a service name for the protocol (6,
// 17; any other value accepts either).
func lookupService(name string, proto uint8) (uint16, bool) {
	var want uint8 = svcTCP | svcUDP
	switch proto {
	case 6:
		want = svcTCP
	case 17:
		want = svcUDP
	}
	for _, s := range services {
		if s.name == name && s.proto&want != 0 {
			return s.port, true
		}
	}
	return 0, false
}

// parsePort is xtables_parse_port: a number (base 0) up to 65535, or a
// service name for the protocol.
func parsePort(s string, proto uint8) (uint16, error) {
	if v, ok := strtoui(s, 0, 65535); ok {
		return uint16(v), nil
	}
	if p, ok := lookupService(s, proto); ok {
		return p, nil
	}
	return 0, fmt.Errorf("%w: invalid port/service `%s' specified", ErrBadArgument, s)
}

// parsePortRange is libxt_tcp's parse_tcp_ports: "port", "a:b", "a:" or
// ":b", with min <= max.
func parsePortRange(s string, proto uint8) (lo, hi uint16, err error) {
	a, b, two := strings.Cut(s, ":")
	if !two {
		p, err := parsePort(s, proto)
		return p, p, err
	}
	lo, hi = 0, 0xFFFF
	if a != "" {
		if lo, err = parsePort(a, proto); err != nil {
			return
		}
	}
	if b != "" {
		if hi, err = parsePort(b, proto); err != nil {
			return
		}
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: invalid portrange (min > max)", ErrBadArgument)
	}
	return lo, hi, nil
}

// parseMport parses one port as xtopt's XTTYPE_PORT/PORTRC do in 1.8.9:
// a service name, else a base-10 strtoul whose result is kept in an int
// (negative is an error) and then stored in 16 bits, so 65536 becomes 0.
func parseMport(s string) (uint16, error) {
	if p, ok := lookupService(s, 0); ok {
		return p, nil
	}
	v, rest, ok := cStrtoul(s, 10)
	if !ok || rest != "" || int32(uint32(v)) < 0 {
		return 0, fmt.Errorf("%w: Port \"%s\" does not resolve to anything", ErrBadArgument, s)
	}
	return uint16(v), nil
}

// parseMportRange is xtopt's XTTYPE_PORTRC: "a[:b]", an empty bound being
// 0 (first) or 65535 (second); min > max is accepted.
func parseMportRange(ext, s string) (lo, hi uint16, err error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("%w: %s: Too many ports specified", ErrBadArgument, ext)
	}
	vals := [2]uint16{0, 0xFFFF}
	for i, p := range parts {
		if p == "" {
			continue
		}
		if vals[i], err = parseMport(p); err != nil {
			return 0, 0, err
		}
	}
	if len(parts) == 1 {
		vals[1] = vals[0]
	}
	return vals[0], vals[1], nil
}

// formatPortRange prints "a" or "a:b".
func formatPortRange(lo, hi uint16) string {
	if lo == hi {
		return strconv.Itoa(int(lo))
	}
	return strconv.Itoa(int(lo)) + ":" + strconv.Itoa(int(hi))
}

// onceErr is xtopt's error for an option given twice.
func onceErr(ext, option string) error {
	return fmt.Errorf("%w: %s: option \"--%s\" can only be used once", ErrSyntax, ext, option)
}

// mustErr is xtopt's error for a missing mandatory option.
func mustErr(ext, option string) error {
	return fmt.Errorf("%w: %s: option \"--%s\" must be specified", ErrSyntax, ext, option)
}

// noInvertErr is xtopt's error for '!' before an option that takes none.
func noInvertErr(ext, option string) error {
	return fmt.Errorf("%w: %s: option \"--%s\" cannot be inverted", ErrSyntax, ext, option)
}

// ownedBy returns an extension's owns function for the pointer type T.
func ownedBy[T any]() func(any) bool {
	return func(x any) bool { _, ok := x.(*T); return ok }
}

// cStrtod is C's strtod on s: the longest prefix that is a number
// (leading white space, a sign, decimal digits with a point and an
// exponent, a "0x" hexadecimal float, inf, infinity or nan, any case),
// its value, and the rest. ok is false when no number starts s.
func cStrtod(s string) (v float64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	lower := strings.ToLower(s[i:])
	for _, word := range []string{"infinity", "inf", "nan"} {
		if strings.HasPrefix(lower, word) {
			f, _ := strconv.ParseFloat(s[start:i+len(word)], 64)
			return f, s[i+len(word):], true
		}
	}
	digits := func(hex bool) int {
		n := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || hex && digitVal(s[i]) < 16) {
			i++
			n++
		}
		return n
	}
	hex := i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x'
	mant := i
	if hex {
		i += 2
	}
	n := digits(hex)
	if i < len(s) && s[i] == '.' {
		i++
		n += digits(hex)
	}
	if n == 0 {
		if hex { // "0x" without digits: strtod reads the "0"
			return 0, s[mant+1:], true
		}
		return 0, s, false
	}
	end := i
	exp := byte('e')
	if hex {
		exp = 'p'
	}
	if i < len(s) && s[i]|0x20 == exp {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			i = j
			digits(false)
			end = i
		}
	}
	num := s[start:end]
	if hex && !strings.ContainsAny(num, "pP") {
		num += "p0"
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, s, false
	}
	return f, s[end:], true
}
