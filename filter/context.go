package filter

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Context is one packet's evaluation state: the packet and what came with
// it, what targets changed (the mark, the response to send), and the
// traversal's scratch space. Reuse one Context per goroutine: Reset keeps
// its buffers, so evaluating a packet allocates nothing.
type Context struct {
	// Packet is the parsed packet. Mangling targets rewrite it in place.
	Packet *packet.Packet
	// Hook is where the packet is being evaluated.
	Hook Hook
	// Table is the table being traversed.
	Table TableID
	// In and Out are the input and output interface names ("" if none
	// at this hook, as in the kernel: no Out at PREROUTING, no In at
	// OUTPUT).
	In, Out string
	// PktType is the link-layer packet type (PACKET_HOST, …) as
	// -m pkttype tests it.
	PktType PktType
	// LinkHeader is the link-layer header the packet arrived with, if
	// known (LOG prints it as MAC=).
	LinkHeader []byte
	// Origin is what else the caller knows of the packet: its sending
	// socket's owner, its CPU, its bridge ports.
	Origin Origin
	// Priority is the packet's priority (skb->priority); CLASSIFY sets it.
	Priority uint32
	// Mark is the packet's mark (skb->mark); MARK changes it.
	Mark uint32
	// QueueMapping is the transmit queue -j SET --map-queue chose
	// (skb->queue_mapping), HasQueueMapping whether it chose one; nfgo
	// only reports it.
	QueueMapping    uint16
	HasQueueMapping bool
	// Now is the time the packet is evaluated at. The caller sets it from
	// a cached clock, not per packet.
	Now time.Time
	// Env answers questions about the host: local addresses for addrtype
	// and REJECT, interface MTUs for TCPMSS. It may be nil.
	Env Env
	// CT is the packet's connection tracking state, for the matches and
	// targets that need conntrack. The zero value means no conntrack: the
	// packet is untracked.
	CT CTInfo
	// Notrack is set by NOTRACK and CT --notrack in the raw table: the
	// engine does not track the packet, whose state is UNTRACKED.
	Notrack bool
	// Zone is the conntrack zone CT --zone assigns.
	Zone uint16
	// Helper is the helper CT --helper assigns to the packet's
	// connection if it is new.
	Helper string
	// Templated is set by the first CT or NOTRACK target the packet
	// meets: as in the kernel, where that target attaches a template
	// (or the untracked mark) to the skb, later ones change nothing.
	Templated bool
	// Sockets finds the host's sockets for -m socket and -j TPROXY; nil
	// when the caller cannot (see SocketMatch and TProxyTarget).
	Sockets SocketLookup
	// Conns answers connlimit's questions about connections; nil without
	// conntrack (connlimit then never matches).
	Conns ConnCounter
	// Local sends packets the host makes itself through its OUTPUT and
	// POSTROUTING hooks (SYNPROXY's); nil outside an engine, where such
	// a packet is only emitted (EffectSend).
	Local LocalSender
	// Logger receives LOG target lines. Nil means slog.Default().
	Logger *slog.Logger
	// Trace, when non-nil, is called for every rule evaluated (nfgo
	// replay --trace, and the TRACE target).
	Trace func(TraceEvent)
	// CounterStripe is the stripe of the rules' counters the packet is
	// counted in (see Counters): contexts that run at the same time on
	// different goroutines should have different ones. Reset keeps it.
	CounterStripe uint32

	// Effects are what the packet asks for beyond its verdict: packets
	// to send, lines to log (see Emit).
	Effects Effects
	// ResponseBuf is reused storage for a packet an effect sends
	// (REJECT's answer).
	ResponseBuf []byte
	// HotDrop is set by a match that finds the packet malformed, as the
	// kernel's matches set par->hotdrop (a tcp match on a TCP header with
	// a bad data offset): the packet is dropped at once.
	HotDrop bool
	// Traced is set by the TRACE target (raw table): every later rule this
	// packet meets is reported through Trace.
	Traced bool

	stack []frame
	// cand are the packet's candidate rules in the chain being walked
	// (the chain index).
	cand candidates
}

// Origin is what the caller knows of a packet beyond its bytes and its
// interfaces, for the matches that test it (owner, cpu, physdev): the
// socket that sent it, for a packet the host sent; the CPU that handles
// it; the bridge ports it crossed. A fact the caller does not know stays
// unset, and those matches treat it as the kernel treats a packet
// without a socket or not bridged. A new fact is a new field here: the
// engine passes the whole of it on, so neither it nor its callers change.
type Origin struct {
	// HasSocket says the host sent the packet from a socket (the
	// kernel's skb->sk, a full socket of this network namespace).
	HasSocket bool
	// HasOwner says the socket has a file, whose owner UID and GID
	// are (NFQUEUE's NFQA_UID and NFQA_GID; the kernel's fsuid and
	// fsgid), with Groups its supplementary groups if known.
	HasOwner bool
	UID, GID uint32
	Groups   []uint32
	// HWAddr is the source link-layer address, when the caller knows it
	// without the link header (NFQUEUE's NFQA_HWADDR).
	HWAddr []byte
	// HasCPU says CPU is the CPU the packet is handled on.
	HasCPU bool
	CPU    uint32
	// Bridged says the packet crossed a bridge, PhysIn and PhysOut
	// being the bridge ports it came in and goes out by ("" if none):
	// NFQUEUE's NFQA_PHYSINDEV and NFQA_PHYSOUTDEV, br_netfilter's view.
	Bridged         bool
	PhysIn, PhysOut string
	// InGroup and OutGroup are the device groups of the input and
	// output interfaces (ip link set dev X group N); 0, the kernel's
	// "default" group, when not known.
	InGroup, OutGroup uint32
	// ClassID is the sending socket's net_cls class id and CgroupPath
	// its cgroup v2 path ("/system.slice/ssh.service"), when the caller
	// knows them, for -m cgroup.
	ClassID    uint32
	CgroupPath string
}

// ConnID names a connection by its original tuple, opaquely: the
// engine fills it, and connlimit only compares and keeps it.
type ConnID [40]byte

// ConnCounter is what connlimit asks of connection tracking.
type ConnCounter interface {
	// PacketConn returns the packet's connection and its zone: the
	// connection conntrack attached it to, or for an untracked packet the
	// tuple it would have (nf_ct_get_tuplepr). ok is false when the
	// packet has no tuple.
	PacketConn() (id ConnID, zone uint16, ok bool)
	// ConnState reports whether a connection is still tracked, and if so
	// whether it is closing (a TCP connection in TIME_WAIT or CLOSE), as
	// nf_conncount's garbage collection asks.
	ConnState(id ConnID) (tracked, closing bool)
}

// Reset prepares c for a new packet, keeping its buffers, its
// environment and its counter stripe.
func (c *Context) Reset() {
	// Zeroing c in place and putting back what it keeps is half the work
	// of assigning it a literal that reads c, which the compiler builds
	// in a temporary and copies.
	env, sockets, logger, trace, stripe := c.Env, c.Sockets, c.Logger, c.Trace, c.CounterStripe
	resp, effects, stack := c.ResponseBuf[:0], c.Effects[:0], c.stack[:0]
	*c = Context{}
	c.Env, c.Sockets, c.Logger, c.Trace, c.CounterStripe = env, sockets, logger, trace, stripe
	c.ResponseBuf, c.Effects, c.stack = resp, effects, stack
}

// Env is the host as matches and targets see it. An implementation must
// be safe for concurrent use and must not allocate.
type Env interface {
	// AddrType returns the address type of a, as addrtype sees it.
	AddrType(a netip.Addr, iface string) AddrType
	// LocalAddr returns an address of the host on the interface, for a
	// REJECT's source (ok=false if it has none).
	LocalAddr(iface string, family packet.Family) (netip.Addr, bool)
	// MTU returns the interface's MTU (0 if unknown).
	MTU(iface string) int
}

// AddrType is a set of address types, as in xt_addrtype (RTN_* bits).
type AddrType uint16

// The address types, with xt_addrtype's bit values.
const (
	AddrUnspec AddrType = 1 << iota
	AddrUnicast
	AddrLocal
	AddrBroadcast
	AddrAnycast
	AddrMulticast
	AddrBlackhole
	AddrUnreachable
	AddrProhibit
	AddrThrow
	AddrNAT
	AddrXResolve
)

// PktType is the link-layer packet type, with the kernel's PACKET_*
// values.
type PktType uint8

// The packet types.
const (
	PacketHost PktType = iota
	PacketBroadcast
	PacketMulticast
	PacketOtherHost
	PacketOutgoing
	PacketLoopback
)

// CTInfo is the connection tracking state a packet carries into the rules.
// The conntrack package fills it; the zero value is "untracked, no
// conntrack".
type CTInfo struct {
	// State is a set of CTState bits, as -m state/-m conntrack test.
	State CTState
	// Status is the entry's status bits (IPS_*).
	Status uint32
	// Mark is the connection mark (connmark).
	Mark uint32
	// Helper is the name of the helper of the connection's master (for
	// a connection an expectation created), for -m helper; filled on
	// demand, through Source, like the tuples.
	Helper string
	// Dir is true for the reply direction.
	Reply bool
	// Tracked is false when conntrack is not running at all.
	Tracked bool
	// Proto is the connection's layer-4 protocol.
	Proto uint8
	// Expire is the time the entry has left.
	Expire time.Duration
	// OrigSrc, OrigDst, ReplSrc and ReplDst are the addresses of the
	// connection's original and reply tuples; the ports likewise (for
	// ICMP the identifier and the type<<8|code word, as the kernel keeps
	// them). They are filled on demand, through Source, by the matches
	// that test them (see Tuples).
	OrigSrc, OrigDst, ReplSrc, ReplDst                 netip.Addr
	OrigSrcPort, OrigDstPort, ReplSrcPort, ReplDstPort uint16
	// Counters are the connection's packets and bytes in the original
	// and reply directions, this packet included (for connbytes);
	// filled on demand by LoadCounters, through Acct, HasCounters saying
	// they were.
	Counters    [2]CTCounter
	HasCounters bool
	// Acct fills Counters when connbytes first needs them; nil when they
	// are filled already or there is no connection.
	Acct CTCounterSource
	// Source fills the tuple fields when a match first needs them; nil
	// when they are filled already or there is no connection.
	Source CTSource
	// Labels reads and sets the connection's labels (connlabel); nil
	// when there is no connection.
	Labels CTLabelStore
}

// CTLabelStore reads and sets the labels of a packet's connection, 128
// bits, bit n of word n/64 being label n. The engine's per-packet state
// implements it; the labels live in the connection table, so each call
// takes the connection's lock.
type CTLabelStore interface {
	// CTLabels returns the labels; ok is false when the connection is
	// gone.
	CTLabels() (labels [2]uint64, ok bool)
	// SetCTLabel sets label bit.
	SetCTLabel(bit uint)
}

// CTCounter is a connection's packets and bytes in one direction.
type CTCounter struct{ Packets, Bytes uint64 }

// CTSource fills a CTInfo's tuple fields. The engine's per-packet state
// implements it, so that a packet whose rules never test the tuples does
// not pay for them.
type CTSource interface {
	FillCT(ct *CTInfo)
}

// CTCounterSource fills a CTInfo's counters. Reading them takes the
// connection's lock, so only the matches that test them ask.
type CTCounterSource interface {
	FillCTCounters(ct *CTInfo)
}

// LoadCounters makes sure the counters are filled.
func (ct *CTInfo) LoadCounters() {
	if ct.Acct != nil {
		src := ct.Acct
		ct.Acct = nil
		src.FillCTCounters(ct)
	}
}

// Tuples makes sure the tuple fields are filled.
func (ct *CTInfo) Tuples() {
	if ct.Source != nil {
		src := ct.Source
		ct.Source = nil
		src.FillCT(ct)
	}
}

// CTState is a set of conntrack states as -m conntrack --ctstate names them.
type CTState uint8

// The conntrack states, with xt_conntrack's bit values.
const (
	StateInvalid CTState = 1 << iota
	StateEstablished
	StateRelated
	StateNew
	StateUntracked
	StateSNAT
	StateDNAT
)

// TraceEvent describes one rule evaluation, for tracing.
type TraceEvent struct {
	Table   TableID
	Chain   string
	Rule    int // 1-based; 0 for the policy
	Matched bool
	Verdict Action
}

type frame struct {
	chain int32
	rule  int32
}
