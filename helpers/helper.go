// Package helpers is the kernel's connection tracking helpers: the
// code that reads a control connection's payload (an FTP PORT command,
// a SIP INVITE's SDP, an IRC DCC offer), expects the connections it
// announces, so that they are RELATED from their first packet, and,
// under NAT, rewrites the addresses and ports the payload names.
//
// One file per protocol, each parsing exactly as its
// net/netfilter/nf_conntrack_*.c and nf_nat_*.c do. A helper is attached
// to a connection only by a rule (-t raw -j CT --helper NAME), as modern
// kernels do; the engine then hands it every packet of the connection
// where nf_confirm does, after NAT and before sequence adjustment and
// confirmation.
package helpers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Verdict is a helper's answer for one packet: let it go on, or drop
// it, with the reason the kernel's nf_ct_helper_log gives ("partial
// matching of `PORT'", "cannot add expectation").
type Verdict struct {
	Drop   bool
	Reason string
}

var accept = Verdict{}

func drop(format string, args ...any) Verdict {
	return Verdict{Drop: true, Reason: fmt.Sprintf(format, args...)}
}

// Call is one packet handed to its connection's helper: the arguments of
// a kernel helper's help function.
type Call struct {
	// Packet is the packet, after NAT. A NAT helper rewrites it, and may
	// grow it (see packet.Packet.ReplacePayload).
	Packet *packet.Packet
	// CT is the packet's connection.
	CT *conntrack.Result
	// Table is the conntrack table, where expectations are registered.
	Table *conntrack.Table
	// Now is the packet's time.
	Now time.Time
	// Data is the helper's state about the connection, which it may
	// change; the engine stores it back.
	Data *[conntrack.HelpDataSize]byte
	// Out is the interface the packet leaves by ("" if unknown), and
	// Routes the host's routes, for SIP's sip_external_media, which
	// asks whether a media address is reached through the same
	// interface. Routes may be nil.
	Out    string
	Routes Routes
	// Local is set only for a packet the host sent itself (the kernel's
	// skb->sk is set): its route, for the broadcast helpers (netbios-ns,
	// snmp). Nil for a forwarded or received packet. See LocalRoute.
	Local *LocalRoute
}

// Routes answers which interface a destination is routed through.
type Routes interface {
	Route(dst netip.Addr) string
}

// dir returns the packet's direction.
func (c *Call) dir() conntrack.Dir { return c.CT.Dir }

// established reports ctinfo ESTABLISHED or ESTABLISHED_REPLY: traffic
// has been seen both ways.
func (c *Call) established() bool { return c.CT.State == conntrack.Established }

// natted reports IPS_NAT_MASK: NAT changed the connection, so a NAT
// helper must rewrite what the payload says.
func (c *Call) natted() bool {
	return c.CT.Status&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != 0
}

// tuple returns the connection's tuple in direction d.
func (c *Call) tuple(d conntrack.Dir) conntrack.Tuple { return c.CT.Tuple(d) }

// Helper is one protocol's helper (struct nf_conntrack_helper). It
// implements conntrack.Helper.
type Helper struct {
	name     string
	protos   []uint8 // the transport protocols it works on
	families families
	policy   []conntrack.ExpectPolicy
	help     func(h *Helper, c *Call) Verdict
	// destroy, if set, runs when a connection the helper is attached
	// to is destroyed (helper->destroy).
	destroy conntrack.DestroyHook
	cfg     *Config
	rand    func() uint32
}

// families is a set of IP families a helper works for.
type families uint8

const (
	v4   families = 1
	v6   families = 2
	both          = v4 | v6
)

func (f families) has(fam packet.Family) bool {
	return fam == packet.IPv4 && f&v4 != 0 || fam == packet.IPv6 && f&v6 != 0
}

// Name returns the helper's name, as CT --helper gives it.
func (h *Helper) Name() string { return h.name }

// Works reports whether the helper works for connections of family and
// transport protocol proto.
func (h *Helper) Works(family packet.Family, proto uint8) bool {
	return h.families.has(family) && slices.Contains(h.protos, proto)
}

// Policy returns the expectation policy of a class.
func (h *Helper) Policy(class uint8) conntrack.ExpectPolicy {
	if int(class) < len(h.policy) {
		return h.policy[class]
	}
	return conntrack.ExpectPolicy{}
}

// DestroyHook returns what the helper does when a connection it is
// attached to is destroyed, nil if nothing: it implements
// conntrack.Destroyer.
func (h *Helper) DestroyHook() conntrack.DestroyHook { return h.destroy }

// Help hands the helper one packet of a connection it is attached to,
// as nf_confirm calls helper->help: not for an ICMP error in the reply
// direction (ctinfo RELATED_REPLY), which the caller skips.
func (h *Helper) Help(c *Call) Verdict { return h.help(h, c) }

// String returns the helper's name.
func (h *Helper) String() string { return h.name }

// Config holds the helpers' module parameters, which the kernel's
// modules take on their command line (nf_conntrack_ftp loose=1, …). The
// zero value is the kernel's defaults; fields whose kernel default is 1
// are named for the other setting. ParseParam sets them by the kernel's
// names.
type Config struct {
	// FTPLoose is nf_conntrack_ftp's loose=1: expect the data
	// connection at the address a PORT or 227 reply names even when it
	// is not its sender's (the default refuses, so that a host cannot
	// open holes to a third party).
	FTPLoose bool
	// IRCMaxDCCChannels is nf_conntrack_irc's max_dcc_channels: how
	// many DCC offers one IRC connection may have waiting (0: 8).
	IRCMaxDCCChannels int
	// IRCDCCTimeout is nf_conntrack_irc's dcc_timeout: how long a DCC
	// offer waits (0: 300 s).
	IRCDCCTimeout time.Duration
	// SIPTimeout is nf_conntrack_sip's sip_timeout: the signalling
	// expectation's lifetime (0: 3600 s).
	SIPTimeout time.Duration
	// SIPIndirectSignalling is sip_direct_signalling=0: expect the
	// signalling connection a REGISTER announces from any address, not
	// only the registrar's.
	SIPIndirectSignalling bool
	// SIPIndirectMedia is sip_direct_media=0: expect media from any
	// address, not only from the signalling peer's.
	SIPIndirectMedia bool
	// SIPExternalMedia is sip_external_media=1: do not expect media
	// whose address is reached through the interface the signalling
	// came in on.
	SIPExternalMedia bool
	// AmandaMasterTimeout is nf_conntrack_amanda's master_timeout:
	// how long the Amanda control connection is kept (0: 300 s).
	AmandaMasterTimeout time.Duration
	// NetBIOSNSTimeout is nf_conntrack_netbios_ns's timeout: how long a
	// name query's broadcast waits for its answers (0: 3 s).
	NetBIOSNSTimeout time.Duration
	// SNMPTimeout is nf_conntrack_snmp's timeout (0: 30 s).
	SNMPTimeout time.Duration
	// Rand, if set, is the random source for the ports a NAT helper
	// picks when the one it wants is taken (tests fix it).
	Rand func() uint32
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ErrNoHelper is the error for a helper name the kernel does not know
// for the family and protocol (xt_CT: No such helper "NAME").
var ErrNoHelper = errors.New("no such helper")

// ErrUnsupported is the error for a helper the kernel has and nfgo does
// not implement yet.
var ErrUnsupported = errors.New("helper not implemented by nfgo")

// known is every helper the kernel registers, by name: its families and
// transport protocols. Those nfgo does not implement are refused with
// ErrUnsupported when a rule names them.
var known = []struct {
	name     string
	families families
	protos   []uint8
	missing  string // why nfgo refuses it, "" if it implements it
}{
	{"ftp", both, []uint8{packet.ProtoTCP}, ""},
	{"tftp", both, []uint8{packet.ProtoUDP}, ""},
	{"irc", v4, []uint8{packet.ProtoTCP}, ""},
	{"sip", both, []uint8{packet.ProtoUDP, packet.ProtoTCP}, ""},
	{"pptp", v4, []uint8{packet.ProtoTCP}, ""},
	{"amanda", both, []uint8{packet.ProtoUDP}, ""},
	{"sane", both, []uint8{packet.ProtoTCP}, ""},
	{"netbios-ns", v4, []uint8{packet.ProtoUDP}, ""},
	{"snmp", v4, []uint8{packet.ProtoUDP}, ""},
	{"snmp_trap", v4, []uint8{packet.ProtoUDP}, ""},
	{"RAS", both, []uint8{packet.ProtoUDP}, "the H.323 helpers (RAS, Q.931, H.245) are not implemented"},
	{"Q.931", both, []uint8{packet.ProtoTCP}, "the H.323 helpers (RAS, Q.931, H.245) are not implemented"},
	{"H.245", both, []uint8{packet.ProtoTCP}, "the H.323 helpers (RAS, Q.931, H.245) are not implemented"},
}

// Check reports whether a rule may attach helper name to connections of
// family and transport protocol proto, as xt_CT's checkentry does when
// the rule is loaded: ErrNoHelper (wrapped, with the kernel's wording)
// for a helper the kernel has no such instance of, ErrUnsupported for
// one nfgo does not implement.
func Check(name string, family packet.Family, proto uint8) error {
	for _, k := range known {
		if k.name != name || !k.families.has(family) || !slices.Contains(k.protos, proto) {
			continue
		}
		if k.missing != "" {
			return fmt.Errorf("%w: %q: %s", ErrUnsupported, name, k.missing)
		}
		return nil
	}
	return fmt.Errorf("%w %q", ErrNoHelper, name)
}

// Set is the helpers built with one Config: what an engine attaches.
type Set struct {
	byName map[string]*Helper
	all    []*Helper
}

// New returns the helpers nfgo implements, with the parameters of cfg.
func New(cfg Config) *Set {
	c := cfg
	if c.IRCMaxDCCChannels <= 0 {
		c.IRCMaxDCCChannels = 8
	}
	c.IRCDCCTimeout = orDefault(c.IRCDCCTimeout, 300*time.Second)
	c.SIPTimeout = orDefault(c.SIPTimeout, 3600*time.Second)
	c.AmandaMasterTimeout = orDefault(c.AmandaMasterTimeout, 300*time.Second)
	c.NetBIOSNSTimeout = orDefault(c.NetBIOSNSTimeout, 3*time.Second)
	c.SNMPTimeout = orDefault(c.SNMPTimeout, 30*time.Second)
	rnd := c.Rand
	if rnd == nil {
		rnd = rand.Uint32
	}
	s := &Set{byName: map[string]*Helper{}}
	for _, h := range []*Helper{newFTP(&c), newTFTP(&c), newIRC(&c), newSIP(&c), newPPTP(&c), newAmanda(&c), newSANE(&c), newNetBIOSNS(&c), newSNMP(&c), newSNMPTrap(&c)} {
		h.cfg, h.rand = &c, rnd
		s.byName[h.name] = h
		s.all = append(s.all, h)
	}
	return s
}

// Lookup returns the helper a CT --helper rule names for a connection
// of family and transport protocol proto, or nil (Check says why).
func (s *Set) Lookup(name string, family packet.Family, proto uint8) *Helper {
	if h := s.byName[name]; h != nil && h.Works(family, proto) {
		return h
	}
	return nil
}

// All returns the helpers, for conntrack.Config.Helpers (snapshots name
// them).
func (s *Set) All() []conntrack.Helper {
	out := make([]conntrack.Helper, len(s.all))
	for i, h := range s.all {
		out[i] = h
	}
	return out
}
