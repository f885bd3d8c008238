package filter

import (
	"errors"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// RejectType is what a REJECT target sends back (--reject-with). The IPv4
// types are ipt_REJECT's, the IPv6 types ip6t_REJECT's; TCPReset is shared.
type RejectType uint8

// The reject types. The zero value is the IPv4 default,
// icmp-port-unreachable.
const (
	RejectICMPPortUnreachable RejectType = iota
	RejectICMPNetUnreachable
	RejectICMPHostUnreachable
	RejectICMPProtoUnreachable
	RejectICMPNetProhibited
	RejectICMPHostProhibited
	RejectICMPAdminProhibited
	RejectTCPReset
	RejectICMP6NoRoute
	RejectICMP6AdmProhibited
	RejectICMP6AddrUnreachable
	RejectICMP6PortUnreachable
	RejectICMP6PolicyFail
	RejectICMP6RejectRoute
)

var rejectNames = [...]string{
	RejectICMPPortUnreachable:  "icmp-port-unreachable",
	RejectICMPNetUnreachable:   "icmp-net-unreachable",
	RejectICMPHostUnreachable:  "icmp-host-unreachable",
	RejectICMPProtoUnreachable: "icmp-proto-unreachable",
	RejectICMPNetProhibited:    "icmp-net-prohibited",
	RejectICMPHostProhibited:   "icmp-host-prohibited",
	RejectICMPAdminProhibited:  "icmp-admin-prohibited",
	RejectTCPReset:             "tcp-reset",
	RejectICMP6NoRoute:         "icmp6-no-route",
	RejectICMP6AdmProhibited:   "icmp6-adm-prohibited",
	RejectICMP6AddrUnreachable: "icmp6-addr-unreachable",
	RejectICMP6PortUnreachable: "icmp6-port-unreachable",
	RejectICMP6PolicyFail:      "icmp6-policy-fail",
	RejectICMP6RejectRoute:     "icmp6-reject-route",
}

// String returns the type's --reject-with name as iptables-save prints it.
func (t RejectType) String() string {
	if int(t) < len(rejectNames) {
		return rejectNames[t]
	}
	return "unknown"
}

// IPv6 reports whether the type is one of ip6tables' ICMPv6 types.
func (t RejectType) IPv6() bool { return t >= RejectICMP6NoRoute && t <= RejectICMP6RejectRoute }

// icmpCode returns the ICMP (type 3, destination unreachable) or ICMPv6
// (type 1) code the type sends (RFC 792, RFC 1812, RFC 4443).
func (t RejectType) icmpCode() uint8 {
	switch t {
	case RejectICMPNetUnreachable:
		return 0
	case RejectICMPHostUnreachable:
		return 1
	case RejectICMPProtoUnreachable:
		return 2
	case RejectICMPPortUnreachable:
		return 3
	case RejectICMPNetProhibited:
		return 9
	case RejectICMPHostProhibited:
		return 10
	case RejectICMPAdminProhibited:
		return 13
	case RejectICMP6NoRoute:
		return 0
	case RejectICMP6AdmProhibited:
		return 1
	case RejectICMP6AddrUnreachable:
		return 3
	case RejectICMP6PortUnreachable:
		return 4
	case RejectICMP6PolicyFail:
		return 5
	case RejectICMP6RejectRoute:
		return 6
	}
	return 0
}

// ICMP message types used by REJECT.
const (
	icmpDestUnreach  = 3
	icmp6DestUnreach = 1
)

// rejectTTL is the TTL (hop limit) of the packets REJECT sends: the
// kernel's default, net.ipv4.ip_default_ttl and the IPv6 hop_limit sysctl.
const rejectTTL = 64

// RejectTarget is -j REJECT: it drops the packet and sends back an ICMP
// error or a TCP RST (ipt_REJECT.c, ip6t_REJECT.c, nf_reject_ipv4.c,
// nf_reject_ipv6.c).
type RejectTarget struct {
	// With is the response to send; the zero value is
	// icmp-port-unreachable. An IPv6 ruleset uses the RejectICMP6 types
	// (ip6tables' default is RejectICMP6PortUnreachable).
	With RejectType
}

// Name returns "REJECT".
func (*RejectTarget) Name() string { return "REJECT" }

// Allowed restricts REJECT to the filter table's INPUT, FORWARD and OUTPUT
// hooks, as ipt_REJECT and ip6t_REJECT declare (.table = "filter").
func (*RejectTarget) Allowed() (TableMask, HookMask) {
	return Tables(Filter), Hooks(Input, Forward, Output)
}

// ErrRejectTCPResetNeedsTCP is CheckRule's error for --reject-with
// tcp-reset on a rule that does not match TCP only (the kernel's
// "TCP_RESET invalid for non-tcp").
var ErrRejectTCPResetNeedsTCP = errors.New("TCP_RESET invalid for non-tcp")

// CheckRule refuses tcp-reset unless the rule says -p tcp without '!', as
// reject_tg_check does: a RST is only meaningful as an answer to TCP.
func (t *RejectTarget) CheckRule(r *Rule, _ Site) error {
	if t.With == RejectTCPReset && (r.Proto != packet.ProtoTCP || r.ProtoInvert) {
		return ErrRejectTCPResetNeedsTCP
	}
	return nil
}

// Do builds the response in c.ResponseBuf, emits it (EffectSend) when
// the kernel would send one, and drops the packet. The kernel sends nothing for a
// non-first fragment, a packet to a broadcast or multicast address, an
// ICMP error (RFC 1122 3.2.2: never answer an error with an error), a RST
// (tcp-reset), or a segment whose checksum is wrong (nf_reject_verify_csum
// and nf_ip_checksum: the sender of a corrupted packet must not be told
// anything about it).
func (t *RejectTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p == nil || p.Length == 0 {
		return Verdict{Action: Drop}
	}
	if p.Fragment && p.FragOffset != 0 {
		return Verdict{Action: Drop}
	}
	if t.With == RejectTCPReset {
		t.sendReset(c, p)
	} else {
		t.sendUnreach(c, p)
	}
	return Verdict{Action: Drop}
}

// sendReset follows nf_send_reset / nf_send_reset6.
func (t *RejectTarget) sendReset(c *Context, p *packet.Packet) {
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.TCPFlags&packet.TCPRst != 0 {
		return
	}
	if rejectNoReply(c, p) {
		return
	}
	if !p.L4ChecksumOK() {
		return
	}
	b, ok := packet.BuildTCPReset(c.ResponseBuf[:0], p, rejectTTL)
	if !ok {
		return
	}
	c.ResponseBuf = b
	c.Emit(Effect{Kind: EffectSend, Packet: b})
}

// sendUnreach follows nf_send_unreach / nf_send_unreach6 and the checks
// of icmp_send / icmpv6_send.
func (t *RejectTarget) sendUnreach(c *Context, p *packet.Packet) {
	if rejectNoReply(c, p) || p.IsICMPError() {
		return
	}
	if rejectVerifyChecksum(p) && !p.L4ChecksumOK() {
		return
	}
	typ, code := uint8(icmpDestUnreach), t.With.icmpCode()
	if p.Family == packet.IPv6 {
		typ = icmp6DestUnreach
		if !t.With.IPv6() {
			// An IPv4 type on an IPv6 packet: only a ruleset built in
			// Go can say this. Answer with the IPv6 default.
			code = RejectICMP6PortUnreachable.icmpCode()
		}
	} else if t.With.IPv6() {
		code = RejectICMPPortUnreachable.icmpCode()
	}
	b, ok := packet.BuildICMPError(c.ResponseBuf[:0], p, rejectSource(c, p), typ, code, rejectTTL)
	if !ok {
		return
	}
	c.ResponseBuf = b
	c.Emit(Effect{Kind: EffectSend, Packet: b})
}

// rejectNoReply reports whether the packet went to (or came from) an
// address the kernel never answers: broadcast or multicast destinations
// (RTCF_BROADCAST|RTCF_MULTICAST in icmp_send and nf_send_reset), and for
// IPv6 non-unicast source or destination addresses.
func rejectNoReply(c *Context, p *packet.Packet) bool {
	src, dst := p.Src(), p.Dst()
	if dst.IsMulticast() || src.IsMulticast() || src.IsUnspecified() {
		return true
	}
	if p.Family == packet.IPv4 {
		if dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return true
		}
		if c.Env != nil && c.Env.AddrType(dst, c.In)&(AddrBroadcast|AddrMulticast) != 0 {
			return true
		}
	}
	return false
}

// rejectVerifyChecksum reports whether the kernel checks the L4 checksum
// before answering (nf_reject_verify_csum): not for protocols with
// optional, partial or other integrity checks.
func rejectVerifyChecksum(p *packet.Packet) bool {
	if p.L4Off == 0 {
		return false
	}
	switch p.Proto {
	case packet.ProtoUDP:
		l4 := p.L4()
		return len(l4) >= 8 && (l4[6] != 0 || l4[7] != 0)
	case packet.ProtoGRE, packet.ProtoAH, packet.ProtoESP, packet.ProtoSCTP,
		packet.ProtoUDPLite, packet.ProtoDCCP:
		return false
	case packet.ProtoTCP, packet.ProtoICMP, packet.ProtoICMPv6:
		return true
	}
	// Other protocols have no checksum nfgo can verify.
	return false
}

// rejectSource picks the ICMP error's source address as icmp_send does:
// the original destination when it is one of the host's addresses (the
// packet was for us), otherwise an address of the interface the packet
// came in on, and the original destination when the host has none.
func rejectSource(c *Context, p *packet.Packet) netip.Addr {
	dst := p.Dst()
	if c.Env == nil {
		return dst
	}
	if c.Env.AddrType(dst, c.In)&AddrLocal != 0 {
		return dst
	}
	iface := c.In
	if iface == "" {
		iface = c.Out
	}
	if a, ok := c.Env.LocalAddr(iface, p.Family); ok {
		return a
	}
	return dst
}
