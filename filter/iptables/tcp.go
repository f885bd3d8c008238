package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -p tcp / -m tcp (libxt_tcp.c): --sport, --dport, --tcp-flags, --syn,
// --tcp-option. libxt_tcp still parses with getopt, not xtopt, which is
// why its errors read differently from udp's and its ports are base 0
// (0x50 and 010 are ports 80 and 8) and must not be reversed.
func init() {
	register(&extension{
		name: "tcp",
		parser: func(*ruleContext) extParser {
			return &tcpMatchParser{m: filter.TCPMatch{SrcPorts: filter.AllPorts, DstPorts: filter.AllPorts}}
		},
		save: saveTCP,
		owns: ownedBy[filter.TCPMatch](),
	})
}

type tcpMatchParser struct {
	m                        filter.TCPMatch
	sport, dport, flags, opt bool
}

func (p *tcpMatchParser) option(name string, invert bool, a *args) error {
	m := &p.m
	switch name {
	case "sport", "source-port", "dport", "destination-port":
		src := name[0] == 's'
		seen := &p.dport
		long := "destination-port"
		if src {
			seen, long = &p.sport, "source-port"
		}
		if *seen {
			return fmt.Errorf("%w: Only one `--%s' allowed", ErrSyntax, long)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		lo, hi, err := parsePortRange(v, 6)
		if err != nil {
			return err
		}
		*seen = true
		if src {
			m.SrcPorts, m.SrcInvert = filter.PortRange{Min: lo, Max: hi}, invert
		} else {
			m.DstPorts, m.DstInvert = filter.PortRange{Min: lo, Max: hi}, invert
		}
	case "syn":
		if p.flags {
			return fmt.Errorf("%w: Only one of `--syn' or `--tcp-flags'  allowed", ErrSyntax)
		}
		p.flags = true
		m.FlagMask = packet.TCPFin | packet.TCPSyn | packet.TCPRst | packet.TCPAck
		m.FlagComp, m.FlagInvert = packet.TCPSyn, invert
	case "tcp-flags":
		if p.flags {
			return fmt.Errorf("%w: Only one of `--syn' or `--tcp-flags'  allowed", ErrSyntax)
		}
		mask, ok := a.next()
		comp := a.peek()
		if !ok || comp == "" || comp[0] == '-' || comp[0] == '!' {
			return fmt.Errorf("%w: --tcp-flags requires two args", ErrSyntax)
		}
		a.next()
		mv, err := parseTCPFlags(mask)
		if err != nil {
			return err
		}
		cv, err := parseTCPFlags(comp)
		if err != nil {
			return err
		}
		p.flags = true
		m.FlagMask, m.FlagComp, m.FlagInvert = mv, cv, invert
	case "tcp-option":
		if p.opt {
			return fmt.Errorf("%w: Only one `--tcp-option' allowed", ErrSyntax)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		n, ok := strtoui(v, 1, 255)
		if !ok {
			return fmt.Errorf("%w: Bad TCP option \"%s\"", ErrBadArgument, v)
		}
		p.opt = true
		m.Option, m.OptionInvert = uint8(n), invert
	default:
		return errNotMine
	}
	return nil
}

func (p *tcpMatchParser) done() (any, error) { return &p.m, nil }

// tcpFlagNames are the flags in the order iptables-save lists them.
var tcpFlagNames = []flagName[uint8]{
	{"FIN", packet.TCPFin}, {"SYN", packet.TCPSyn}, {"RST", packet.TCPRst},
	{"PSH", packet.TCPPsh}, {"ACK", packet.TCPAck}, {"URG", packet.TCPUrg},
}

// parseTCPFlags parses a comma list of FIN, SYN, RST, PSH, ACK, URG, ALL
// and NONE, in any case; empty items are skipped as strtok skips them.
// ECE and CWR have no names in libxt_tcp.
func parseTCPFlags(s string) (uint8, error) {
	var v uint8
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		switch u := strings.ToUpper(f); u {
		case "ALL":
			v |= 0x3F
		case "NONE":
		default:
			found := false
			for _, n := range tcpFlagNames {
				if n.name == u {
					v |= n.bit
					found = true
				}
			}
			if !found {
				return 0, fmt.Errorf("%w: Unknown TCP flag `%s'", ErrBadArgument, f)
			}
		}
	}
	return v, nil
}

func formatTCPFlags(v uint8) string { return formatFlags(v, tcpFlagNames) }

// saveTCP prints what iptables-nft prints: a port range covering every
// port and an empty flag mask are left out, inverted or not.
func saveTCP(w *saver, x any) {
	m := x.(*filter.TCPMatch)
	if !m.SrcPorts.IsAll() {
		w.opt(m.SrcInvert, "sport", formatPortRange(m.SrcPorts.Min, m.SrcPorts.Max))
	}
	if !m.DstPorts.IsAll() {
		w.opt(m.DstInvert, "dport", formatPortRange(m.DstPorts.Min, m.DstPorts.Max))
	}
	if m.Option != 0 {
		w.opt(m.OptionInvert, "tcp-option", strconv.Itoa(int(m.Option)))
	}
	if m.FlagMask != 0 {
		w.opt(m.FlagInvert, "tcp-flags", formatTCPFlags(m.FlagMask)+" "+formatTCPFlags(m.FlagComp))
	}
}

// flagName names one bit of a flag set (TCP flags, conntrack status).
type flagName[T uint8 | uint32] struct {
	name string
	bit  T
}

// formatFlags prints a flag set as iptables-save does: the names of the
// bits set, comma-separated, in the table's order, or NONE.
func formatFlags[T uint8 | uint32](v T, names []flagName[T]) string {
	if v == 0 {
		return "NONE"
	}
	var parts []string
	for _, n := range names {
		if v&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}
