package iptables

import "strings"

// dscpClasses are the DiffServ class names (RFC 2474 class selectors,
// RFC 2597 assured forwarding, RFC 3246 expedited forwarding) that
// libxt_dscp_helper knows, shared by the dscp match and the DSCP target.
var dscpClasses = []struct {
	name string
	dscp uint8
}{
	{"CS0", 0x00}, {"CS1", 0x08}, {"CS2", 0x10}, {"CS3", 0x18},
	{"CS4", 0x20}, {"CS5", 0x28}, {"CS6", 0x30}, {"CS7", 0x38},
	{"BE", 0x00},
	{"AF11", 0x0a}, {"AF12", 0x0c}, {"AF13", 0x0e},
	{"AF21", 0x12}, {"AF22", 0x14}, {"AF23", 0x16},
	{"AF31", 0x1a}, {"AF32", 0x1c}, {"AF33", 0x1e},
	{"AF41", 0x22}, {"AF42", 0x24}, {"AF43", 0x26},
	{"EF", 0x2e},
}

// parseDSCPClass returns the code point of a class name as class_to_dscp
// finds it: case ignored, comparing only as many characters as the class
// name has (so "efx" is EF), the first class in table order winning.
func parseDSCPClass(s string) (uint8, bool) {
	for _, c := range dscpClasses {
		if len(s) >= len(c.name) && strings.EqualFold(c.name, s[:len(c.name)]) {
			return c.dscp, true
		}
	}
	return 0, false
}

// tosNames are the RFC 1349 type-of-service names (tos_symbol_names),
// shared by the tos match and the TOS target. As names they set the four
// TOS bits under the mask 0x3f.
var tosNames = []struct {
	name  string
	value uint8
}{
	{"Minimize-Delay", 0x10},
	{"Maximize-Throughput", 0x08},
	{"Maximize-Reliability", 0x04},
	{"Minimize-Cost", 0x02},
	{"Normal-Service", 0x00},
}

// parseTOSName returns the TOS value of a name, case ignored.
func parseTOSName(s string) (uint8, bool) {
	for _, n := range tosNames {
		if strings.EqualFold(n.name, s) {
			return n.value, true
		}
	}
	return 0, false
}
