package conntrack

import (
	"strings"
	"time"
)

// State is what conntrack says about one packet (the kernel's ctinfo,
// without the direction, which Dir carries).
type State uint8

// The states. The zero State is Invalid: a packet conntrack could not
// attach to a connection.
const (
	Invalid State = iota
	New
	Established
	Related
	Untracked
)

var stateNames = [...]string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED"}

// String returns the state as -m state names it, e.g. "ESTABLISHED".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// Status holds a connection's IPS_* status bits.
type Status uint32

// The status bits, with the kernel's values (uapi nf_conntrack_common.h).
const (
	StatusExpected Status = 1 << iota
	StatusSeenReply
	StatusAssured
	StatusConfirmed
	StatusSrcNAT
	StatusDstNAT
	StatusSeqAdjust
	StatusSrcNATDone
	StatusDstNATDone
	StatusDying
	StatusFixedTimeout
	StatusTemplate
	StatusUntracked
	StatusHelper
	StatusOffload
	StatusHWOffload
)

var statusNames = [...]string{"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT",
	"SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT", "TEMPLATE", "UNTRACKED",
	"HELPER", "OFFLOAD", "HW_OFFLOAD"}

// String returns the set bits joined by '|', as conntrack -L's status
// column and the conntrack match's --ctstatus name them.
func (s Status) String() string {
	var parts []string
	for i, n := range statusNames {
		if s&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "NONE"
	}
	return strings.Join(parts, "|")
}

// Timeouts are the per-protocol and per-state timeouts, as the
// net.netfilter.nf_conntrack_*_timeout sysctls set them.
type Timeouts struct {
	// TCP is indexed by TCPState.
	TCP        [tcpStateCount]time.Duration
	TCPRetrans time.Duration // nf_conntrack_tcp_timeout_max_retrans
	TCPUnack   time.Duration // nf_conntrack_tcp_timeout_unacknowledged
	UDP        time.Duration // nf_conntrack_udp_timeout
	UDPStream  time.Duration // nf_conntrack_udp_timeout_stream
	ICMP       time.Duration // nf_conntrack_icmp_timeout
	ICMPv6     time.Duration // nf_conntrack_icmpv6_timeout
	GRE        time.Duration // nf_conntrack_gre_timeout
	GREStream  time.Duration // nf_conntrack_gre_timeout_stream
	// SCTP is indexed by SCTPState.
	SCTP    [sctpStateCount]time.Duration
	Generic time.Duration // nf_conntrack_generic_timeout
}

// DefaultTimeouts returns the kernel's defaults.
func DefaultTimeouts() Timeouts {
	const s, m, d = time.Second, time.Minute, 24 * time.Hour
	t := Timeouts{
		TCPRetrans: 5 * m, TCPUnack: 5 * m,
		UDP: 30 * s, UDPStream: 120 * s,
		ICMP: 30 * s, ICMPv6: 30 * s,
		GRE: 30 * s, GREStream: 180 * s,
		Generic: 600 * s,
	}
	t.TCP = [tcpStateCount]time.Duration{
		TCPNone:        0,
		TCPSynSent:     2 * m,
		TCPSynRecv:     60 * s,
		TCPEstablished: 5 * d,
		TCPFinWait:     2 * m,
		TCPCloseWait:   60 * s,
		TCPLastAck:     30 * s,
		TCPTimeWait:    2 * m,
		TCPClose:       10 * s,
		TCPSynSent2:    2 * m,
	}
	t.SCTP = [sctpStateCount]time.Duration{
		SCTPNone:            10 * s, // the kernel's timeouts[0]: CLOSED's
		SCTPClosed:          10 * s,
		SCTPCookieWait:      3 * s,
		SCTPCookieEchoed:    3 * s,
		SCTPEstablished:     210 * s,
		SCTPShutdownSent:    3 * s,
		SCTPShutdownRecd:    3 * s,
		SCTPShutdownAckSent: 3 * s,
		SCTPHeartbeatSent:   30 * s,
	}
	return t
}
