package ipset

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Protocol and service names are read as ipset reads them, through the
// system's /etc/protocols and /etc/services (getprotobyname,
// getservbyname), so that a set saves as ipset saves it on the same
// host. Without the files, the few protocols below still have names.

var (
	namesOnce   sync.Once
	protoByName map[string]uint8
	protoName   [256]string
	services    map[string]uint16 // "http/tcp" → 80
)

// fallbackProtocols are the names used when /etc/protocols is missing.
var fallbackProtocols = map[string]uint8{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47,
	"esp": 50, "ah": 51, "ipv6-icmp": 58, "sctp": 132, "udplite": 136,
}

func loadNames() {
	protoByName = map[string]uint8{}
	if f, err := os.Open("/etc/protocols"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
			if len(fields) < 2 {
				continue
			}
			n, err := strconv.ParseUint(fields[1], 10, 8)
			if err != nil {
				continue
			}
			for i, name := range append([]string{fields[0]}, fields[2:]...) {
				if _, dup := protoByName[name]; !dup {
					protoByName[name] = uint8(n)
				}
				if i == 0 && protoName[n] == "" {
					protoName[n] = name
				}
			}
		}
		f.Close()
	}
	if len(protoByName) == 0 {
		for name, n := range fallbackProtocols {
			protoByName[name] = n
			protoName[n] = name
		}
	}
	services = map[string]uint16{}
	if f, err := os.Open("/etc/services"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
			if len(fields) < 2 {
				continue
			}
			port, proto, ok := strings.Cut(fields[1], "/")
			n, err := strconv.ParseUint(port, 10, 16)
			if !ok || err != nil {
				continue
			}
			for _, name := range append([]string{fields[0]}, fields[2:]...) {
				if _, dup := services[name+"/"+proto]; !dup {
					services[name+"/"+proto] = uint16(n)
				}
			}
		}
		f.Close()
	}
}

// protocolNumber returns the protocol called s, a name or a number.
func protocolNumber(s string) (uint8, bool) {
	namesOnce.Do(loadNames)
	if n, ok := protoByName[strings.ToLower(s)]; ok {
		return n, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

// protocolName returns how ipset prints protocol p: its name, or its
// number.
func protocolName(p uint8) string {
	namesOnce.Do(loadNames)
	if n := protoName[p]; n != "" {
		return n
	}
	return strconv.Itoa(int(p))
}

// serviceName looks a port name up for a protocol.
func servicePort(name, proto string) (uint16, bool) {
	namesOnce.Do(loadNames)
	p, ok := services[name+"/"+proto]
	return p, ok
}

// icmpName is an ICMP type and code ipset has a name for.
type icmpName struct {
	name      string
	typ, code uint8
	v6        bool
}

// icmpNames are ipset's names of ICMP and ICMPv6 types and codes
// (lib/icmp.c, lib/icmpv6.c): it takes and prints each for exactly its
// type and code.
var icmpNames = []icmpName{
	{name: "echo-reply", typ: 0, code: 0},
	{name: "network-unreachable", typ: 3, code: 0},
	{name: "host-unreachable", typ: 3, code: 1},
	{name: "protocol-unreachable", typ: 3, code: 2},
	{name: "port-unreachable", typ: 3, code: 3},
	{name: "fragmentation-needed", typ: 3, code: 4},
	{name: "source-route-failed", typ: 3, code: 5},
	{name: "network-unknown", typ: 3, code: 6},
	{name: "host-unknown", typ: 3, code: 7},
	{name: "network-prohibited", typ: 3, code: 9},
	{name: "host-prohibited", typ: 3, code: 10},
	{name: "TOS-network-unreachable", typ: 3, code: 11},
	{name: "TOS-host-unreachable", typ: 3, code: 12},
	{name: "communication-prohibited", typ: 3, code: 13},
	{name: "host-precedence-violation", typ: 3, code: 14},
	{name: "precedence-cutoff", typ: 3, code: 15},
	{name: "source-quench", typ: 4, code: 0},
	{name: "network-redirect", typ: 5, code: 0},
	{name: "host-redirect", typ: 5, code: 1},
	{name: "TOS-network-redirect", typ: 5, code: 2},
	{name: "TOS-host-redirect", typ: 5, code: 3},
	{name: "echo-request", typ: 8, code: 0},
	{name: "router-advertisement", typ: 9, code: 0},
	{name: "router-solicitation", typ: 10, code: 0},
	{name: "ttl-zero-during-transit", typ: 11, code: 0},
	{name: "ttl-zero-during-reassembly", typ: 11, code: 1},
	{name: "ip-header-bad", typ: 12, code: 0},
	{name: "required-option-missing", typ: 12, code: 1},
	{name: "timestamp-request", typ: 13, code: 0},
	{name: "timestamp-reply", typ: 14, code: 0},
	{name: "address-mask-request", typ: 17, code: 0},
	{name: "address-mask-reply", typ: 18, code: 0},

	{name: "no-route", typ: 1, code: 0, v6: true},
	{name: "communication-prohibited", typ: 1, code: 1, v6: true},
	{name: "address-unreachable", typ: 1, code: 3, v6: true},
	{name: "port-unreachable", typ: 1, code: 4, v6: true},
	{name: "packet-too-big", typ: 2, code: 0, v6: true},
	{name: "ttl-zero-during-transit", typ: 3, code: 0, v6: true},
	{name: "ttl-zero-during-reassembly", typ: 3, code: 1, v6: true},
	{name: "bad-header", typ: 4, code: 0, v6: true},
	{name: "unknown-header-type", typ: 4, code: 1, v6: true},
	{name: "unknown-option", typ: 4, code: 2, v6: true},
	{name: "echo-request", typ: 128, code: 0, v6: true},
	{name: "echo-reply", typ: 129, code: 0, v6: true},
	{name: "router-solicitation", typ: 133, code: 0, v6: true},
	{name: "router-advertisement", typ: 134, code: 0, v6: true},
	{name: "neighbour-solicitation", typ: 135, code: 0, v6: true},
	{name: "neighbour-advertisement", typ: 136, code: 0, v6: true},
	{name: "redirect", typ: 137, code: 0, v6: true},
}

// icmpByName returns the type and code ipset's name stands for.
func icmpByName(name string, v6 bool) (uint8, uint8, bool) {
	for _, n := range icmpNames {
		if n.v6 == v6 && strings.EqualFold(n.name, name) {
			return n.typ, n.code, true
		}
	}
	return 0, 0, false
}

// icmpText is how ipset prints an ICMP type and code: its name, or
// "type/code".
func icmpText(typ, code uint8, v6 bool) string {
	for _, n := range icmpNames {
		if n.v6 == v6 && n.typ == typ && n.code == code {
			return n.name
		}
	}
	return strconv.Itoa(int(typ)) + "/" + strconv.Itoa(int(code))
}
