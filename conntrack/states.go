package conntrack

// TCPState is a TCP connection's tracking state (enum tcp_conntrack), in
// the kernel's order, which indexes the state table and the timeouts.
type TCPState uint8

// The TCP states.
const (
	TCPNone TCPState = iota
	TCPSynSent
	TCPSynRecv
	TCPEstablished
	TCPFinWait
	TCPCloseWait
	TCPLastAck
	TCPTimeWait
	TCPClose
	TCPSynSent2
	tcpStateCount
)

var tcpStateNames = [tcpStateCount]string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

// String returns the state as conntrack -L prints it, e.g. "SYN_SENT".
func (s TCPState) String() string {
	if s < tcpStateCount {
		return tcpStateNames[s]
	}
	return "UNKNOWN"
}

// SCTPState is an SCTP association's tracking state (enum
// sctp_conntrack), in the kernel's order.
type SCTPState uint8

// The SCTP states.
const (
	SCTPNone SCTPState = iota
	SCTPClosed
	SCTPCookieWait
	SCTPCookieEchoed
	SCTPEstablished
	SCTPShutdownSent
	SCTPShutdownRecd
	SCTPShutdownAckSent
	SCTPHeartbeatSent
	sctpStateCount
)

var sctpStateNames = [sctpStateCount]string{"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
	"SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT"}

// String returns the state as conntrack -L prints it.
func (s SCTPState) String() string {
	if s < sctpStateCount {
		return sctpStateNames[s]
	}
	return "UNKNOWN"
}
