package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m mac --mac-source XX:XX:XX:XX:XX:XX (libxt_mac.c). Each of the six
// parts is one or two hex digits; iptables-save prints two, lower case.
func init() {
	type m = filter.MACMatch
	declare(&declared[m]{
		name: "mac",
		opts: []declOpt[m]{{name: "mac-source", invert: true, must: true, set: func(x *m, c *optCall) error {
			mac, ok := parseMAC(c.value)
			if !ok {
				return fmt.Errorf("%w: Invalid MAC address specified.", ErrBadArgument) //lint:ignore ST1005 iptables' message
			}
			x.Source, x.Invert = mac, c.invert
			return nil
		}}},
		save: func(w *saver, x *m) { w.opt(x.Invert, "mac-source", formatMAC(x.Source)) },
	})
}

// parseMAC reads a MAC address as xtables_parse_mac does.
func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, false
	}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return mac, false
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return mac, false
		}
		mac[i] = byte(v)
	}
	return mac, true
}

func formatMAC(mac [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}
