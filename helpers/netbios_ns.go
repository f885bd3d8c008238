package helpers

import (
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// NetBIOS name service (nf_conntrack_netbios_ns.c). A name query is
// broadcast to the subnet's port 137 and answered by whichever hosts
// know the name; the helper is the broadcast helper (broadcast.go) for
// port 137, with the module's timeout both as the expectation's lifetime
// and as the query connection's. It reads nothing of the payload.

// netbiosNSPort is the name service's port (NMBD_PORT), the source port
// of the answers expected.
const netbiosNSPort = 137

func newNetBIOSNS(cfg *Config) *Helper {
	return &Helper{
		name: "netbios-ns", protos: []uint8{packet.ProtoUDP}, families: v4,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: cfg.NetBIOSNSTimeout}},
		help: func(h *Helper, c *Call) Verdict {
			broadcastHelp(c, netbiosNSPort, h.cfg.NetBIOSNSTimeout)
			return accept
		},
	}
}
