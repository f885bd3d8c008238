package iptables

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// ParseRule parses the words of one rule specification as they follow
// "-A CHAIN" (for example "-p tcp --dport 22 -j ACCEPT") for the family,
// table and chain. Comma lists in -s and -d expand into one rule per
// address pair, as iptables does. has reports whether a chain exists in the
// table, so that -j can tell a chain from an unknown target; it may be nil.
func ParseRule(words []string, f packet.Family, table filter.TableID, chain string, has func(string) bool) ([]*filter.Rule, error) {
	p, err := parseRule(words, f, table, chain, has, nil)
	if err != nil {
		return nil, err
	}
	return p.rules(), nil
}

// parsedRule is one rule specification before address expansion.
type parsedRule struct {
	header   filter.Header
	srcs     []filter.Net
	dsts     []filter.Net
	matches  []filter.Match
	target   filter.Target
	counters *[2]uint64
	// family is set by -4 or -6: the rule applies to that family only.
	family packet.Family
}

func (p *parsedRule) rules() []*filter.Rule {
	srcs, dsts := p.srcs, p.dsts
	if len(srcs) == 0 {
		srcs = []filter.Net{{}}
	}
	if len(dsts) == 0 {
		dsts = []filter.Net{{}}
	}
	var out []*filter.Rule
	for _, s := range srcs {
		for _, d := range dsts {
			r := &filter.Rule{Header: p.header, Matches: p.matches, Target: p.target}
			r.Src, r.Dst = s, d
			if p.counters != nil {
				r.Counters.Set(p.counters[0], p.counters[1])
			}
			out = append(out, r)
		}
	}
	return out
}

type loadedExt struct {
	ext    *extension
	parser extParser
}

func parseRule(words []string, f packet.Family, table filter.TableID, chain string, has func(string) bool, labels *ConnLabels) (*parsedRule, error) {
	pr := &parsedRule{}
	rc := &ruleContext{family: f, header: &pr.header, table: table, chain: chain, labels: labels}
	a := &args{words: words}
	var (
		matches []loadedExt
		target  *loadedExt
		seen    = map[string]bool{}
	)
	once := func(opt string) error {
		if seen[opt] {
			return fmt.Errorf("%w: multiple %s flags not allowed", ErrSyntax, opt)
		}
		seen[opt] = true
		return nil
	}
	invert := false
	for {
		w, ok := a.next()
		if !ok {
			break
		}
		if w == "!" {
			if invert {
				return nil, fmt.Errorf("%w: consecutive ! not allowed", ErrSyntax)
			}
			invert = true
			continue
		}
		opt := canonicalOption(w)
		var err error
		switch opt {
		case "-p":
			if err = once(opt); err == nil {
				err = parseProtoOpt(a, &pr.header, invert)
			}
		case "-s", "-d":
			if err = once(opt); err == nil {
				err = parseAddrOpt(a, opt, f, pr, invert)
			}
		case "-i", "-o":
			if err = once(opt); err == nil {
				err = parseIfaceOpt(a, opt, &pr.header, invert)
			}
		case "-f":
			if f != packet.IPv4 {
				err = fmt.Errorf("%w: unknown option \"%s\"", ErrUnknownOption, w)
			} else if err = once(opt); err == nil {
				pr.header.Fragment = filter.Yes
				if invert {
					pr.header.Fragment = filter.No
				}
			}
		case "-4", "-6":
			pr.family = packet.IPv4
			if opt == "-6" {
				pr.family = packet.IPv6
			}
		case "-c":
			pr.counters, err = parseCountersOpt(a)
		case "-m":
			var name string
			if name, err = a.value("match"); err == nil {
				if invert {
					err = fmt.Errorf("%w: unexpected ! flag before --match", ErrSyntax)
					break
				}
				e := lookupExt(false, name, f)
				if e == nil && notYet[name] {
					err = fmt.Errorf("%w: the iptables match %q is not implemented by nfgo yet", ErrUnsupported, name)
					break
				}
				if e == nil {
					err = fmt.Errorf("%w: Couldn't load match `%s':No such file or directory", ErrUnknownExtension, name)
					break
				}
				matches = append(matches, loadedExt{ext: e, parser: e.parser(rc)})
			}
		case "-j", "-g":
			if target != nil || pr.target != nil {
				err = fmt.Errorf("%w: multiple -j flags not allowed", ErrSyntax)
				break
			}
			if invert {
				err = fmt.Errorf("%w: cannot have ! before %s", ErrSyntax, opt)
				break
			}
			var name string
			if name, err = a.value(strings.TrimPrefix(opt, "-")); err == nil {
				target, err = parseTargetName(name, opt == "-g", f, rc, pr, has)
			}
		default:
			if strings.HasPrefix(w, "--") && len(w) > 2 {
				name := w[2:]
				if n, v, ok := strings.Cut(name, "="); ok && n != "" {
					// getopt_long's --option=value: the value is the
					// option's argument.
					name = n
					a.words = append(a.words[:a.i:a.i], append([]string{v}, a.words[a.i:]...)...)
				}
				err = dispatchOption(name, invert, a, rc, &matches, target)
			} else {
				err = fmt.Errorf("%w: unknown option \"%s\"", ErrUnknownOption, w)
				if !strings.HasPrefix(w, "-") {
					err = fmt.Errorf("%w: Bad argument `%s'", ErrSyntax, w)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		invert = false
	}
	if invert {
		return nil, fmt.Errorf("%w: ! at the end of the rule", ErrSyntax)
	}
	// There is no output interface before routing, and no input
	// interface for a packet the host sends.
	switch h, _ := filter.ParseHook(chain); {
	case !pr.header.Out.IsZero() && (chain == "PREROUTING" || chain == "INPUT"):
		return nil, fmt.Errorf("%w: Can't use -o with %s", ErrSyntax, h)
	case !pr.header.In.IsZero() && (chain == "OUTPUT" || chain == "POSTROUTING"):
		return nil, fmt.Errorf("%w: Can't use -i with %s", ErrSyntax, h)
	}
	// "-i +" is any interface: iptables-nft adds no test for it, and
	// iptables-save prints none.
	for _, i := range []*filter.Iface{&pr.header.In, &pr.header.Out} {
		if i.Name == "" && i.Wildcard && !i.Invert {
			*i = filter.Iface{}
		}
	}
	for _, m := range matches {
		x, err := m.parser.done()
		if err != nil {
			return nil, err
		}
		pr.matches = append(pr.matches, x.(filter.Match))
	}
	if target != nil {
		x, err := target.parser.done()
		if err != nil {
			return nil, err
		}
		pr.target = x.(filter.Target)
	}
	return pr, nil
}

// canonicalOption maps the long header options to their short forms.
func canonicalOption(w string) string {
	switch w {
	case "--protocol":
		return "-p"
	case "--source", "--src":
		return "-s"
	case "--destination", "--dst":
		return "-d"
	case "--in-interface":
		return "-i"
	case "--out-interface":
		return "-o"
	case "--fragment":
		return "-f"
	case "--match":
		return "-m"
	case "--jump":
		return "-j"
	case "--goto":
		return "-g"
	case "--set-counters":
		return "-c"
	case "--ipv4":
		return "-4"
	case "--ipv6":
		return "-6"
	}
	return w
}

// implicitMatch names the match iptables loads by itself when an unknown
// option follows -p PROTO (libxtables' load_proto).
func implicitMatch(proto uint8, f packet.Family) string {
	switch proto {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 136:
		return "udplite"
	case 132:
		return "sctp"
	case 33:
		return "dccp"
	case 1:
		if f == packet.IPv4 {
			return "icmp"
		}
	case 58:
		if f == packet.IPv6 {
			return "icmp6"
		}
	}
	return ""
}

// dispatchOption offers an extension option to the target, then to the
// matches from the last loaded, then to the protocol's implicit match.
func dispatchOption(name string, invert bool, a *args, rc *ruleContext, matches *[]loadedExt, target *loadedExt) error {
	try := func(p extParser) (bool, error) {
		err := p.option(name, invert, a)
		if errors.Is(err, errNotMine) {
			return false, nil
		}
		return true, err
	}
	if target != nil {
		if done, err := try(target.parser); done {
			return err
		}
	}
	for i := len(*matches) - 1; i >= 0; i-- {
		if done, err := try((*matches)[i].parser); done {
			return err
		}
	}
	if !rc.header.ProtoInvert {
		if implied := implicitMatch(rc.header.Proto, rc.family); implied != "" {
			loaded := false
			for _, m := range *matches {
				loaded = loaded || m.ext.name == implied
			}
			if e := lookupExt(false, implied, rc.family); e != nil && !loaded {
				p := e.parser(rc)
				if done, err := try(p); done {
					*matches = append(*matches, loadedExt{ext: e, parser: p})
					return err
				}
			}
		}
	}
	return fmt.Errorf("%w \"--%s\"", ErrUnknownOption, name)
}

func parseTargetName(name string, isGoto bool, f packet.Family, rc *ruleContext, pr *parsedRule, has func(string) bool) (*loadedExt, error) {
	if isGoto {
		if has != nil && !has(name) {
			return nil, fmt.Errorf("%w: goto '%s' is not a chain", ErrUnknownExtension, name)
		}
		pr.target = &filter.JumpTarget{Chain: name, Goto: true}
		return nil, nil
	}
	switch name {
	case "ACCEPT":
		pr.target = filter.AcceptTarget
		return nil, nil
	case "DROP":
		pr.target = filter.DropTarget
		return nil, nil
	case "RETURN":
		pr.target = filter.ReturnTarget
		return nil, nil
	case "QUEUE":
		pr.target = filter.QueueTarget
		return nil, nil
	}
	if has != nil && has(name) {
		pr.target = &filter.JumpTarget{Chain: name}
		return nil, nil
	}
	if e := lookupExt(true, name, f); e != nil {
		return &loadedExt{ext: e, parser: e.parser(rc)}, nil
	}
	if has == nil && filter.ValidChainName(name) == nil {
		pr.target = &filter.JumpTarget{Chain: name}
		return nil, nil
	}
	if notYet[name] {
		return nil, fmt.Errorf("%w: the iptables target %q is not implemented by nfgo yet", ErrUnsupported, name)
	}
	return nil, fmt.Errorf("%w: Couldn't load target `%s':No such file or directory", ErrUnknownExtension, name)
}

// notYet are the extensions iptables has that nfgo does not implement
// yet: a rule using one is refused as unsupported, not as unknown.
// ipvs needs IPVS's state, LED the host's LEDs, and
// CLUSTERIP left the kernel in 6.3 (the kernels nfgo is checked against
// have none of the three).
var notYet = map[string]bool{
	"ipvs": true, "LED": true, "CLUSTERIP": true,
}

func parseProtoOpt(a *args, h *filter.Header, invert bool) error {
	v, err := a.value("protocol")
	if err != nil {
		return err
	}
	n, ok := ParseProtocol(v)
	if !ok {
		return fmt.Errorf("%w: unknown protocol \"%s\" specified", ErrBadArgument, v)
	}
	if n == 0 && invert {
		return fmt.Errorf("%w: rule would never match protocol", ErrBadArgument)
	}
	h.Proto, h.ProtoInvert = n, invert
	return nil
}

// ParseProtocol parses a -p value: a number, "all", or a protocol name,
// case-insensitively, as iptables does.
func ParseProtocol(s string) (uint8, bool) {
	s = strings.ToLower(s)
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), true
	}
	switch s {
	case "all":
		return 0, true
	case "icmpv6":
		return 58, true
	case "mh":
		return 135, true
	}
	for n, name := range protoNames {
		if name == s {
			return n, true
		}
	}
	return 0, false
}

// ProtocolName returns the name iptables-save prints for a protocol
// number, or the number itself.
func ProtocolName(n uint8) string {
	if name, ok := protoNames[n]; ok {
		return name
	}
	return strconv.Itoa(int(n))
}

func parseAddrOpt(a *args, opt string, f packet.Family, pr *parsedRule, invert bool) error {
	v, err := a.value(strings.TrimPrefix(opt, "-"))
	if err != nil {
		return err
	}
	var nets []filter.Net
	for _, s := range strings.Split(v, ",") {
		n, err := ParseNet(s, f)
		if err != nil {
			return err
		}
		if n.Bits() == 0 {
			// A zero mask matches every address; the kernel refuses to
			// invert it, and iptables prints nothing for it.
			if invert {
				return fmt.Errorf("%w: ! with a /0 address would never match", ErrBadArgument)
			}
			n = filter.Net{}
		}
		nets = append(nets, n)
	}
	if opt == "-s" {
		pr.srcs, pr.header.SrcInvert = nets, invert
	} else {
		pr.dsts, pr.header.DstInvert = nets, invert
	}
	if invert && len(nets) > 1 {
		return fmt.Errorf("%w: ! not allowed with multiple source or destination IP addresses", ErrSyntax)
	}
	return nil
}

// ParseNet parses ADDR[/MASK] as iptables does: an IPv4 address may be
// written with fewer than four parts (missing parts are zero) and with
// octal or hex parts; MASK is a prefix length (strtoul base 0) or a dotted
// or colon mask. The address is masked, as iptables stores it, and a mask
// of zero bits means any address. Host names are not resolved: a ruleset
// must not depend on DNS.
func ParseNet(s string, f packet.Family) (filter.Net, error) {
	addr, mask, hasMask := strings.Cut(s, "/")
	ip, ok := parseHost(addr, f)
	if !ok {
		return filter.Net{}, fmt.Errorf("%w: host/network `%s' not found", ErrBadArgument, addr)
	}
	bits := ip.BitLen()
	if !hasMask {
		return filter.NetFromPrefix(netip.PrefixFrom(ip, bits)), nil
	}
	var m netip.Addr
	if strings.ContainsAny(mask, ".:") {
		m, ok = parseHost(mask, f)
	} else {
		var n uint64
		n, ok = strictUint(mask)
		ok = ok && n <= uint64(bits)
		if ok {
			m = filter.NetFromPrefix(netip.PrefixFrom(ip, int(n))).Mask
		}
	}
	if !ok {
		return filter.Net{}, fmt.Errorf("%w: invalid mask `%s' specified", ErrBadArgument, mask)
	}
	ab, mb := ip.AsSlice(), m.AsSlice()
	for i := range ab {
		ab[i] &= mb[i]
	}
	masked, _ := netip.AddrFromSlice(ab)
	return filter.Net{Addr: masked, Mask: m}, nil
}

// parseHost parses an address of the family. IPv4 follows iptables'
// numeric parser: one to four dot-separated parts, each a C integer
// (decimal, 0octal or 0xhex) up to 255, missing trailing parts zero.
func parseHost(s string, f packet.Family) (netip.Addr, bool) {
	if f == packet.IPv6 {
		a, err := netip.ParseAddr(s)
		return a, err == nil && a.Is6() && a.Zone() == ""
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		n, ok := strictUint(p)
		if !ok || n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// FormatNet prints a Net as iptables-save does: ADDR/PREFIXLEN for a
// contiguous mask, ADDR/MASK otherwise.
func FormatNet(n filter.Net) string {
	if b := n.Bits(); b >= 0 {
		return n.Addr.String() + "/" + strconv.Itoa(b)
	}
	return n.Addr.String() + "/" + n.Mask.String()
}

// maxIfaceLen is IFNAMSIZ-1.
const maxIfaceLen = 15

func parseIfaceOpt(a *args, opt string, h *filter.Header, invert bool) error {
	name := "in-interface"
	if opt == "-o" {
		name = "out-interface"
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	i, err := parseIface(v, invert)
	if err != nil {
		return err
	}
	if opt == "-i" {
		h.In = i
	} else {
		h.Out = i
	}
	return nil
}

func parseCountersOpt(a *args) (*[2]uint64, error) {
	var c [2]uint64
	for i := range c {
		v, err := a.value("set-counters")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: -c packet counter not numeric", ErrBadArgument)
		}
		c[i] = n
	}
	return &c, nil
}

// FormatRule prints a rule's specification as iptables-save prints it
// after "-A CHAIN": the header (-s -d -i -o -p -f), each match with -m, and
// the target.
func FormatRule(r *filter.Rule, f packet.Family) string {
	return formatRule(r, f, nil)
}

// formatRule is FormatRule with the names of connection labels.
func formatRule(r *filter.Rule, f packet.Family, labels *ConnLabels) string {
	w := &saver{family: f, labels: labels}
	h := &r.Header
	flag := func(invert bool, opt, val string) {
		if invert {
			w.WriteString(" !")
		}
		w.WriteByte(' ')
		w.WriteString(opt)
		if val != "" {
			w.WriteByte(' ')
			w.WriteString(val)
		}
	}
	if !h.Src.IsZero() {
		flag(h.SrcInvert, "-s", FormatNet(h.Src))
	}
	if !h.Dst.IsZero() {
		flag(h.DstInvert, "-d", FormatNet(h.Dst))
	}
	if !h.In.IsZero() {
		flag(h.In.Invert, "-i", ifaceString(h.In))
	}
	if !h.Out.IsZero() {
		flag(h.Out.Invert, "-o", ifaceString(h.Out))
	}
	if h.Proto != 0 {
		flag(h.ProtoInvert, "-p", ProtocolName(h.Proto))
	}
	if h.Fragment != filter.Unset {
		flag(h.Fragment == filter.No, "-f", "")
	}
	for _, m := range mergeNativeTransport(r.Matches) {
		e := extFor(m, false, f)
		if e == nil {
			fmt.Fprintf(w, " -m %s", extName(m))
			continue
		}
		w.WriteString(" -m ")
		w.WriteString(e.name)
		e.save(w, m)
	}
	switch t := r.Target.(type) {
	case nil:
	case *filter.StandardTarget:
		w.WriteString(" -j ")
		w.WriteString(t.Verdict.String())
	case *filter.JumpTarget:
		if t.Goto {
			w.WriteString(" -g ")
		} else {
			w.WriteString(" -j ")
		}
		w.WriteString(t.Chain)
	default:
		e := extFor(t, true, f)
		if e == nil {
			fmt.Fprintf(w, " -j %s", extName(t))
			break
		}
		w.WriteString(" -j ")
		w.WriteString(e.name)
		e.save(w, t)
	}
	return strings.TrimPrefix(w.String(), " ")
}

// mergeNativeTransport returns a rule's matches as iptables-nft saves
// them. It turns the tcp and udp matches it can into nft payload
// expressions (ports and flags: not one with --tcp-option, nor one
// without options) and reads them back as one match per protocol, at
// the first one's place, with each option as the last match that set
// it: "-m udp --sport 67 -m udp --dport 68" is saved as
// "-m udp --sport 67 --dport 68". The rule is evaluated as written;
// only its saved form changes.
func mergeNativeTransport(ms []filter.Match) []filter.Match {
	native := 0
	for _, m := range ms {
		if nativeTCP(m) || nativeUDP(m) {
			native++
		}
	}
	if native < 2 {
		return ms
	}
	out := make([]filter.Match, 0, len(ms))
	var tcp *filter.TCPMatch
	var udp *filter.UDPMatch
	for _, m := range ms {
		switch {
		case nativeTCP(m) && tcp != nil:
			mergeTCP(tcp, m.(*filter.TCPMatch))
		case nativeTCP(m):
			c := *m.(*filter.TCPMatch)
			tcp = &c
			out = append(out, tcp)
		case nativeUDP(m) && udp != nil:
			mergeUDP(udp, m.(*filter.UDPMatch))
		case nativeUDP(m):
			c := *m.(*filter.UDPMatch)
			udp = &c
			out = append(out, udp)
		default:
			out = append(out, m)
		}
	}
	return out
}

// nativeTCP reports whether iptables-nft turns m, a tcp match, into
// payload expressions: it has ports or flags, and no --tcp-option.
func nativeTCP(m filter.Match) bool {
	t, ok := m.(*filter.TCPMatch)
	return ok && t.Option == 0 && (!t.SrcPorts.IsAll() || !t.DstPorts.IsAll() || t.FlagMask != 0)
}

// nativeUDP reports whether m is a udp match with ports.
func nativeUDP(m filter.Match) bool {
	u, ok := m.(*filter.UDPMatch)
	return ok && (!u.SrcPorts.IsAll() || !u.DstPorts.IsAll())
}

// mergeTCP sets in into the options later sets.
func mergeTCP(into, later *filter.TCPMatch) {
	if !later.SrcPorts.IsAll() {
		into.SrcPorts, into.SrcInvert = later.SrcPorts, later.SrcInvert
	}
	if !later.DstPorts.IsAll() {
		into.DstPorts, into.DstInvert = later.DstPorts, later.DstInvert
	}
	if later.FlagMask != 0 {
		into.FlagMask, into.FlagComp, into.FlagInvert = later.FlagMask, later.FlagComp, later.FlagInvert
	}
}

// mergeUDP sets in into the ports later sets.
func mergeUDP(into, later *filter.UDPMatch) {
	if !later.SrcPorts.IsAll() {
		into.SrcPorts, into.SrcInvert = later.SrcPorts, later.SrcInvert
	}
	if !later.DstPorts.IsAll() {
		into.DstPorts, into.DstInvert = later.DstPorts, later.DstInvert
	}
}

func ifaceString(i filter.Iface) string {
	if i.Wildcard {
		return i.Name + "+"
	}
	return i.Name
}

func extName(x any) string {
	if n, ok := x.(filter.Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", x)
}

// strictUint parses a whole string as a C unsigned integer (decimal,
// 0octal or 0xhex), with no sign or spaces.
func strictUint(s string) (uint64, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, rest, ok := cStrtoul(s, 0)
	return n, ok && rest == ""
}

// ifaceLenErr is iptables' error for an interface name too long (its
// message gives IFNAMSIZ as 15).
func ifaceLenErr(name string) error {
	return fmt.Errorf("%w: interface name `%s' must be shorter than IFNAMSIZ (%d)", ErrBadArgument, name, maxIfaceLen)
}

// parseIface reads an interface name as -i, -o and physdev take it, a
// trailing '+' making it a prefix.
func parseIface(v string, invert bool) (filter.Iface, error) {
	if len(v) > maxIfaceLen {
		return filter.Iface{}, ifaceLenErr(v)
	}
	i := filter.Iface{Name: v, Invert: invert}
	if strings.HasSuffix(v, "+") {
		i.Name, i.Wildcard = strings.TrimSuffix(v, "+"), true
	}
	return i, nil
}
