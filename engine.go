package nfgo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/helpers"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// Config configures an Engine.
type Config struct {
	// Host is the machine being simulated or protected.
	Host Host
	// Logger receives LOG target lines; nil means slog.Default().
	Logger *slog.Logger
	// Queue, when set, receives packets an NFQUEUE or QUEUE target sends
	// to a queue, as a Go callback in library use, and returns whether to
	// accept them. When nil, a queued packet is treated as the kernel
	// treats a queue nobody listens on: dropped, or accepted with
	// --queue-bypass.
	Queue func(queue uint16, p *packet.Packet, m Meta) bool
	// Conntrack configures connection tracking (the zero value: the
	// kernel's defaults).
	Conntrack conntrack.Config
	// NoConntrack turns connection tracking off: every packet is
	// untracked, as in a kernel namespace whose rules never asked for
	// conntrack.
	NoConntrack bool
	// Helpers holds the protocol helpers' parameters (the kernel's
	// module parameters: FTP's loose, IRC's max_dcc_channels, …); the
	// zero value is the kernel's defaults. Helpers are attached to
	// connections by -t raw -j CT --helper NAME rules.
	Helpers helpers.Config
	// KernelForwards says the kernel forwards the packets Path accepts
	// (nfgo run's path layout, queued at PREROUTING): Path then leaves
	// the TTL decrement, the TTL and MTU checks and their ICMP errors to
	// the kernel, which does them after the verdict. A packet whose TTL
	// runs out is accepted after PREROUTING for the kernel to drop.
	KernelForwards bool
	// Sockets finds the host's sockets, for -m socket and -j TPROXY;
	// nil when the embedding program does not know them.
	Sockets filter.SocketLookup
	// NFAcct holds the nfacct objects -m nfacct rules name (nfacct add);
	// nil means an empty table of the engine's own (Engine.NFAcct).
	NFAcct *filter.NFAcctTable
	// OSF holds the fingerprints -m osf compares SYNs with (nfnl_osf
	// -f); nil means an empty table of the engine's own (Engine.OSF).
	OSF *filter.OSFingerprints
	// FlowOffload lets Path forward the packets of established
	// connections without the rules, as nftables' flowtable does, when
	// the ruleset provably accepts them all (filter.Program.Offload says
	// whether it does, and if not why): their verdicts carry
	// ReasonOffload. See docs/ARCHITECTURE.md for what an offloaded
	// packet skips.
	FlowOffload bool
}

// Engine runs packets through netfilter's hooks. It is safe for
// concurrent use; rulesets are swapped atomically.
type Engine struct {
	cfg Config
	env atomic.Pointer[hostEnv] // swapped whole by SetHost
	v4  atomic.Pointer[filter.Program]
	v6  atomic.Pointer[filter.Program]
	// objects are the named state the rules share across rulesets
	// (hashlimit tables by name); setMu serialises SetRuleset, so that
	// each replaced program releases its objects once.
	objects filter.Objects
	setMu   sync.Mutex
	// sets are the ipsets of UseSets, guarded by setMu.
	sets *ipset.Sets
	ct   *conntrack.Table // nil without conntrack
	pool sync.Pool        // *pktState
	// helpers are the protocol helpers CT --helper rules attach.
	helpers *helpers.Set
	// gcEpoch is the clock epoch (gcShift) of the last garbage-collector
	// step.
	gcEpoch atomic.Int64
	// natDrops counts packets NAT dropped (no free tuple, no address).
	natDrops atomic.Uint64
	// ifaces numbers interfaces for MASQUERADE's bookkeeping
	// (conntrack.Result.SetMasquerade): an immutable map, replaced by a
	// copy when a new name is numbered, under ifaceMu, which only that
	// takes.
	ifaceMu sync.Mutex
	ifaces  atomic.Pointer[map[string]uint32]
	// stripes numbers the pooled contexts' counter stripes.
	stripes atomic.Uint32
}

// NATDrops returns how many packets NAT has dropped: a range with no free
// tuple left, MASQUERADE or REDIRECT without an address, or a packet that
// could not be rewritten.
func (e *Engine) NATDrops() uint64 { return e.natDrops.Load() }

// gcShift paces the conntrack garbage collector by the packets' clock:
// one step, which scans one of the table's 64 shards, each 2^23 ns
// (8.4 ms), so the whole table is swept about twice a second while
// packets flow, and lookups reap what they meet in between. The check is
// one atomic load per packet; only the packet that starts a new epoch
// does the step.
const gcShift = 23

// collect runs a garbage-collector step when the clock has entered a new
// epoch.
func (e *Engine) collect(now time.Time) {
	epoch := now.UnixNano() >> gcShift
	if last := e.gcEpoch.Load(); epoch != last && e.gcEpoch.CompareAndSwap(last, epoch) {
		e.ct.Collect(now, 1)
	}
}

// pktState is one packet's scratch space on its way through the hooks:
// the rules' context and conntrack's result. It comes from a pool, so a
// packet allocates nothing.
type pktState struct {
	filter.Context
	ct conntrack.Result
	// conns is the NAT selector's view of the conntrack table.
	conns natConns
	// env is the host as it was when the packet arrived.
	env *hostEnv
	// table is the engine's conntrack table, for connlimit.
	table *conntrack.Table
	// ctDone is set once conntrack has seen the packet: a packet looping
	// back to the host keeps the connection it had (the kernel skips
	// nf_conntrack_in for an skb that already has a ct).
	ctDone bool
	// eng is the engine, for NAT set up by an expectation.
	eng *Engine
	// call and helpData are the helper's arguments, kept here so that
	// handing a packet to its helper allocates nothing.
	call     helpers.Call
	helpData [conntrack.HelpDataSize]byte
	local    helpers.LocalRoute
	// The host's own packets (SendLocal) are judged in a context of
	// their own: out is the packet, outBuf its bytes, depth how deep in
	// such packets the context is, and synproxyTemplate says a
	// connection the packet opens is SYNPROXY's.
	out              packet.Packet
	outBuf           []byte
	depth            uint8
	synproxyTemplate bool
	// spBuf is the SYNPROXY hooks' scratch for the packets they send,
	// and sent holds what left of the packets the host made while
	// judging this one, until the verdict copies them.
	spBuf, sent []byte
}

// New returns an engine with no rules: every packet is accepted.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg}
	e.env.Store(newHostEnv(cfg.Host))
	if e.cfg.Logger == nil {
		e.cfg.Logger = slog.Default()
	}
	e.helpers = helpers.New(cfg.Helpers)
	e.objects.NFAcct = cfg.NFAcct
	if e.objects.NFAcct == nil {
		e.objects.NFAcct = &filter.NFAcctTable{}
	}
	e.objects.OSF = cfg.OSF
	if e.objects.OSF == nil {
		e.objects.OSF = &filter.OSFingerprints{}
	}
	e.objects.SYNProxy = synproxy.NewProxy()
	if !cfg.NoConntrack {
		ctc := cfg.Conntrack
		if ctc.Helpers == nil {
			ctc.Helpers = e.helpers.All()
		}
		e.ct = conntrack.NewTable(ctc)
	}
	e.pool.New = func() any {
		// Each context counts into a stripe of its own, so that the
		// goroutines judging packets at once (whose pools hand out
		// different contexts) do not share the rules' counters' lines.
		stripe := e.stripes.Add(1) - 1
		return &pktState{Context: filter.Context{Logger: e.cfg.Logger, Sockets: cfg.Sockets, CounterStripe: stripe}, table: e.ct, eng: e}
	}
	return e
}

// Conntrack returns the connection tracking table, or nil if the engine
// runs without conntrack.
func (e *Engine) Conntrack() *conntrack.Table { return e.ct }

// ErrFamily is returned for a ruleset of an unknown family.
var ErrFamily = errors.New("ruleset family must be IPv4 or IPv6")

// SetRuleset validates and compiles rs and makes it the ruleset for its
// family, atomically: a packet being evaluated finishes with the old
// rules, every later packet sees the new ones. On error the old ruleset
// stays. rs must not be edited afterwards. Named state the rules share
// (a hashlimit table by --hashlimit-name) is kept for the rules of the
// new ruleset that name it, as a kernel table replacement keeps it.
func (e *Engine) SetRuleset(rs *filter.Ruleset) error {
	var slot *atomic.Pointer[filter.Program]
	switch rs.Family {
	case packet.IPv4:
		slot = &e.v4
	case packet.IPv6:
		slot = &e.v6
	default:
		return ErrFamily
	}
	e.setMu.Lock()
	defer e.setMu.Unlock()
	// The running program's unchanged chains are reused (CompileNext).
	var p *filter.Program
	var err error
	if cur := slot.Load(); cur != nil {
		p, err = filter.CompileNext(cur, rs)
	} else {
		p, err = filter.CompileWith(rs, &e.objects)
	}
	if err != nil {
		return err
	}
	// The new program holds its objects before the old one lets go, so
	// that what both name (a hashlimit table) keeps its state.
	p.Retain()
	if old := slot.Swap(p); old != nil {
		old.Release()
	}
	return nil
}

// UseSets makes sets the ipsets that rules compiled from now on find by
// name (-m set, -j SET); the programs already running keep the sets
// they were compiled with. Nil means no sets: a rule naming one is
// refused.
func (e *Engine) UseSets(sets *ipset.Sets) {
	e.setMu.Lock()
	defer e.setMu.Unlock()
	e.sets = sets
	if sets == nil {
		e.objects.Sets = nil
	} else {
		e.objects.Sets = sets
	}
}

// Sets returns the ipsets rules are compiled against, nil if none.
func (e *Engine) Sets() *ipset.Sets {
	e.setMu.Lock()
	defer e.setMu.Unlock()
	return e.sets
}

// NFAcct returns the nfacct objects the rules count in: add objects
// before loading rules that name them, as with the nfacct tool.
func (e *Engine) NFAcct() *filter.NFAcctTable { return e.objects.NFAcct }

// OSF returns the fingerprints -m osf compares SYNs with. They may be
// changed while packets flow: each packet sees them before or after a
// change, never in between.
func (e *Engine) OSF() *filter.OSFingerprints { return e.objects.OSF }

// RecentList returns the -m recent list of that name that the running
// rules hold: what /proc/net/xt_recent/NAME shows and takes.
func (e *Engine) RecentList(name string) (*filter.RecentList, bool) {
	return filter.RecentListNamed(&e.objects, name)
}

// IdleTimers returns the IDLETIMER timers the running rules hold, by
// label.
func (e *Engine) IdleTimers() []*filter.IdleTimer { return filter.IdleTimers(&e.objects) }

// RecentLists returns the -m recent lists the running rules hold, by
// name.
func (e *Engine) RecentLists() []*filter.RecentList { return filter.RecentLists(&e.objects) }

// Program returns the compiled ruleset in use for a family, or nil.
func (e *Engine) Program(f packet.Family) *filter.Program {
	if f == packet.IPv6 {
		return e.v6.Load()
	}
	return e.v4.Load()
}

// Meta is what comes with a packet: from NFQUEUE's attributes, or from
// the replay's simulated host.
type Meta struct {
	// Hook is the hook the packet is at, for Engine.Hook.
	Hook filter.Hook
	// In and Out are the interface names. Path fills Out from the routes.
	In, Out string
	// Mark is the packet's mark on arrival.
	Mark uint32
	// Time is when the packet is evaluated, from a cached clock or the
	// capture's timestamp.
	Time time.Time
	// PktType is the link-layer packet type (host, broadcast, …).
	PktType filter.PktType
	// LinkHeader is the link-layer header, if known (LOG's MAC=).
	LinkHeader []byte
	// Origin is what else is known of the packet (its socket's owner,
	// its CPU, its bridge ports), handed to the rules as it is.
	Origin filter.Origin
	// Trace, when non-nil, is called for every rule evaluated.
	Trace func(filter.TraceEvent)
}

// Reason says why a packet got its verdict.
type Reason uint8

// The reasons.
const (
	// ReasonRule: a rule's target decided.
	ReasonRule Reason = iota
	// ReasonPolicy: the packet fell off a built-in chain.
	ReasonPolicy
	// ReasonNoRules: no table had a say; accepted.
	ReasonNoRules
	// ReasonMalformed: the kernel would drop the packet before the hooks
	// (bad IP header) or a match found it malformed (hotdrop).
	ReasonMalformed
	// ReasonTTL: a forwarded packet whose TTL or hop limit ran out; the
	// kernel's forwarding drops it before FORWARD.
	ReasonTTL
	// ReasonBadChecksum: the IPv4 header checksum is wrong; ip_rcv drops
	// the packet before PREROUTING.
	ReasonBadChecksum
	// ReasonTooBig: a forwarded packet larger than the output
	// interface's MTU that may not be fragmented (IPv4 with DF, all
	// IPv6); the kernel refuses it before FORWARD.
	ReasonTooBig
	// ReasonNAT: NAT dropped the packet: no free tuple in the range, no
	// address for MASQUERADE or REDIRECT, or a packet it could not
	// rewrite.
	ReasonNAT
	// ReasonConntrack: conntrack dropped the packet (the table is full, or
	// its connection clashed with one confirmed meanwhile).
	ReasonConntrack
	// ReasonQueue: the packet went to a queue; the queue's answer decided.
	ReasonQueue
	// ReasonHelper: the connection's helper dropped the packet (a command
	// cut short, no expectation or rewrite possible); CTReason says why.
	ReasonHelper
	// ReasonOffload: the packet's connection is offloaded
	// (Config.FlowOffload); the fast path forwarded it without the rules.
	ReasonOffload
)

var reasonNames = [...]string{ReasonRule: "rule", ReasonPolicy: "policy", ReasonNoRules: "no-rules",
	ReasonMalformed: "malformed", ReasonTTL: "ttl", ReasonBadChecksum: "bad-checksum", ReasonTooBig: "too-big",
	ReasonNAT: "nat", ReasonConntrack: "conntrack", ReasonQueue: "queue", ReasonHelper: "helper",
	ReasonOffload: "offload"}

// String returns the reason's short name, as metrics label it ("rule",
// "policy", "conntrack", …).
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Verdict is a packet's fate and why.
type Verdict struct {
	// Action is Accept, Drop or, from Hook without a queue handler, Queue.
	Action filter.Action
	// Queue is the queue number for a queued packet.
	Queue uint16
	// Mark is the packet's mark after the rules.
	Mark uint32
	// Priority is the packet's priority after the rules (CLASSIFY).
	Priority uint32
	// Reason says what decided. Hook, Table, Chain and Rule locate it.
	Reason Reason
	Hook   filter.Hook
	Table  filter.TableID
	Chain  *filter.Chain
	// Rule is the 1-based number of the deciding rule in Chain, 0 for the
	// policy; RuleRef is the rule itself.
	Rule    int
	RuleRef *filter.Rule
	// Malformed is the parse problem for ReasonMalformed.
	Malformed packet.Invalid
	// Effects are what the packet caused beyond its verdict, in order:
	// packets to send (REJECT's answer, the host's ICMP errors), LOG
	// lines. Effects.Response and Effects.Logs pick them out.
	Effects filter.Effects
	// Out is the output interface Path routed the packet to.
	Out string
	// CT is the packet's conntrack state (UNTRACKED without conntrack),
	// CTDir its direction, CTReason why it is INVALID or was dropped (by
	// conntrack, or by its helper: "ftp: partial matching of `PORT'").
	CT       conntrack.State
	CTDir    conntrack.Dir
	CTReason string
}

// String describes the verdict: "DROP by rule 4 of filter FORWARD",
// "ACCEPT by policy of filter INPUT", "DROP: malformed: …".
func (v Verdict) String() string {
	switch v.Reason {
	case ReasonRule:
		return fmt.Sprintf("%v by rule %d of %v %s", v.Action, v.Rule, v.Table, v.Chain.Name)
	case ReasonPolicy:
		return fmt.Sprintf("%v by policy of %v %s", v.Action, v.Table, v.Chain.Name)
	case ReasonNoRules:
		return fmt.Sprintf("%v: no rules", v.Action)
	case ReasonMalformed:
		if v.Malformed != packet.OK {
			return fmt.Sprintf("%v: malformed packet: %v", v.Action, v.Malformed)
		}
		return fmt.Sprintf("%v: malformed packet (hotdrop in %v %s rule %d)", v.Action, v.Table, v.chainName(), v.Rule)
	case ReasonBadChecksum:
		return fmt.Sprintf("%v: bad IPv4 header checksum", v.Action)
	case ReasonTTL:
		return fmt.Sprintf("%v: TTL exceeded in forwarding", v.Action)
	case ReasonConntrack:
		return fmt.Sprintf("%v by conntrack", v.Action)
	case ReasonNAT:
		return fmt.Sprintf("%v by NAT", v.Action)
	case ReasonTooBig:
		return fmt.Sprintf("%v: packet too big for %s", v.Action, v.Out)
	case ReasonQueue:
		return fmt.Sprintf("%v by queue %d (rule %d of %v %s)", v.Action, v.Queue, v.Rule, v.Table, v.chainName())
	case ReasonHelper:
		return fmt.Sprintf("%v by helper %s", v.Action, v.CTReason)
	case ReasonOffload:
		return fmt.Sprintf("%v: offloaded connection", v.Action)
	}
	return v.Action.String()
}

func (v Verdict) chainName() string {
	if v.Chain == nil {
		return ""
	}
	return v.Chain.Name
}

// Hook runs the tables of one hook, in the kernel's priority order, over
// the parsed packet p. This is how a packet delivered by NFQUEUE is
// judged. Mangling targets rewrite p in place.
func (e *Engine) Hook(p *packet.Packet, m Meta) Verdict {
	ps := e.context(p, m)
	v := Verdict{Action: filter.Accept, Reason: ReasonNoRules}
	// The engine sees the packet at this one hook only: conntrack runs
	// here even at INPUT or FORWARD, and the connection is confirmed here
	// if the packet is accepted.
	if m.Hook != filter.Prerouting && m.Hook != filter.Output && !e.conntrackIn(ps, m.Hook, &v) {
		return e.finish(ps, v)
	}
	if e.runHook(ps, m.Hook, &v) && m.Hook != filter.Input && m.Hook != filter.Postrouting {
		if !e.confirm(ps, &v) {
			v.Action = filter.Drop
		}
	}
	return e.finish(ps, v)
}

// Path runs the packet's whole path through the simulated host: a packet
// from one of the host's addresses starts at OUTPUT, anything else at
// PREROUTING; after PREROUTING the routing decision sends it to INPUT if
// it is for the host (one of its addresses, a broadcast or a multicast
// address), otherwise through FORWARD, decrementing its TTL as the kernel
// does; every packet that leaves passes POSTROUTING. Path rewrites p as
// the router would (TTL, mangling targets). m.Hook is ignored; m.Out is
// filled from the routes.
func (e *Engine) Path(p *packet.Packet, m Meta) Verdict {
	v := Verdict{Action: filter.Accept, Reason: ReasonNoRules}
	env := e.env.Load()
	// ip_rcv and ipv6_rcv drop a packet whose IP header is bad before
	// any hook sees it. A bad transport header is the matches' business
	// (and later conntrack's): the packet goes on.
	if p.Invalid != packet.OK && !p.Invalid.L4() {
		v.Action, v.Reason, v.Malformed = filter.Drop, ReasonMalformed, p.Invalid
		return v
	}
	if p.Family == packet.IPv4 && !p.IPv4HeaderChecksumOK() {
		v.Action, v.Reason = filter.Drop, ReasonBadChecksum
		return v
	}
	if e.cfg.FlowOffload && e.offloaded(p, m, env, &v) {
		return v
	}
	ps := e.context(p, m)
	c := &ps.Context
	if env.IsLocal(p.Src()) {
		e.fromHost(ps, &v)
		return e.finish(ps, v)
	}
	c.Out = ""
	if !e.runHook(ps, filter.Prerouting, &v) {
		return e.finish(ps, v)
	}
	if env.ForHost(p.Dst()) {
		e.runHook(ps, filter.Input, &v)
		return e.finish(ps, v)
	}
	// ip_forward and ip6_forward drop a packet whose TTL would run out,
	// and decrement it before the FORWARD hook, so FORWARD and
	// POSTROUTING see (and the packet leaves with) the decremented TTL.
	if p.TTL <= 1 {
		v.Reason = ReasonTTL
		if !e.cfg.KernelForwards {
			v.Action = filter.Drop
			e.icmpError(c, packet.ICMPTimeExceeded, packet.ICMPv6TimeExceeded, 0, 0)
		}
		return e.finish(ps, v)
	}
	out := env.Route(p.Dst())
	// A packet too big for the output interface is refused with
	// "fragmentation needed" (IPv4 with DF) or "packet too big" (IPv6,
	// which routers never fragment), before the FORWARD hook.
	if mtu := env.MTU(out); !e.cfg.KernelForwards && p.Length > mtu && (p.Family == packet.IPv6 || p.DontFrag) {
		v.Action, v.Reason, v.Out = filter.Drop, ReasonTooBig, out
		e.icmpError(c, packet.ICMPDestUnreach, packet.ICMPv6PacketTooBig, icmpFragNeeded, uint32(mtu))
		return e.finish(ps, v)
	}
	if !e.cfg.KernelForwards {
		p.SetTTL(p.TTL - 1)
	}
	c.Out = out
	v.Out = c.Out
	if e.runHook(ps, filter.Forward, &v) {
		c.In = m.In
		if e.runHook(ps, filter.Postrouting, &v) && e.cfg.FlowOffload {
			e.offload(ps)
		}
	}
	return e.finish(ps, v)
}

// fromHost runs the path of a packet the host sends: OUTPUT and
// POSTROUTING, and for one to itself, which loops back through lo,
// PREROUTING and INPUT.
func (e *Engine) fromHost(ps *pktState, v *Verdict) {
	c, env := &ps.Context, ps.env
	p := c.Packet
	toSelf := env.IsLocal(p.Dst())
	c.In, c.Out = "", env.Route(p.Dst())
	if toSelf {
		c.Out = "lo"
	}
	v.Out = c.Out
	if !e.runHook(ps, filter.Output, v) || !e.runHook(ps, filter.Postrouting, v) || !toSelf {
		return
	}
	c.In, c.Out = "lo", ""
	if e.runHook(ps, filter.Prerouting, v) {
		e.runHook(ps, filter.Input, v)
	}
}

// icmpError builds the ICMP error the router sends back for a packet it
// cannot forward (ip_forward's icmp_send, ip6_forward's icmpv6_send):
// time exceeded, or fragmentation needed / packet too big with the MTU,
// sourced from the router's address on the interface the packet came in
// on.
func (e *Engine) icmpError(c *filter.Context, typ4, typ6, code uint8, mtu uint32) {
	p := c.Packet
	src, ok := e.env.Load().LocalAddr(c.In, p.Family)
	if !ok {
		return
	}
	typ := typ4
	if p.Family == packet.IPv6 {
		typ, code = typ6, 0
	}
	resp, ok := packet.BuildICMPError(c.ResponseBuf[:cap(c.ResponseBuf)], p, src, typ, code, defaultTTL)
	if !ok {
		return
	}
	if mtu != 0 {
		// The next-hop MTU sits in the ICMP header's second word: its
		// low half for IPv4 (RFC 1191), all of it for IPv6 (RFC 4443).
		var q packet.Packet
		q.Decode(resp)
		h := q.L4()
		if p.Family == packet.IPv6 {
			binary.BigEndian.PutUint32(h[4:], mtu)
		} else {
			binary.BigEndian.PutUint16(h[6:], uint16(mtu))
		}
		q.ComputeChecksums()
	}
	c.ResponseBuf = resp
	c.Emit(filter.Effect{Kind: filter.EffectSend, Packet: resp})
}

// icmpFragNeeded is ICMP_FRAG_NEEDED, the code of destination
// unreachable that carries a next-hop MTU.
const icmpFragNeeded = 4

// defaultTTL is the TTL and hop limit of packets the router itself sends
// (net.ipv4.ip_default_ttl, net.ipv6.conf.*.hop_limit).
const defaultTTL = 64

func (e *Engine) context(p *packet.Packet, m Meta) *pktState {
	ps := e.pool.Get().(*pktState)
	e.resetContext(ps, p, m)
	return ps
}

// resetContext readies a pooled context for packet p.
func (e *Engine) resetContext(ps *pktState, p *packet.Packet, m Meta) {
	ps.ct.Reset()
	ps.ctDone = false
	ps.depth, ps.synproxyTemplate, ps.sent = 0, false, ps.sent[:0]
	c := &ps.Context
	c.Reset()
	c.Packet = p
	ps.env = e.env.Load()
	c.Env = ps.env
	if e.ct != nil {
		c.Conns = ps
	}
	c.Local = ps
	c.In, c.Out, c.Mark, c.Now = m.In, m.Out, m.Mark, m.Time
	c.PktType, c.LinkHeader, c.Origin, c.Trace = m.PktType, m.LinkHeader, m.Origin, m.Trace
}

// finish copies what outlives the context into the verdict and returns
// the context to the pool.
func (e *Engine) finish(ps *pktState, v Verdict) Verdict { return e.finishInto(ps, v, nil) }

// finishInto is finish that, with tr, moves the packet's connection into
// tr for its next hook instead of giving up an unconfirmed one.
func (e *Engine) finishInto(ps *pktState, v Verdict, tr *Transit) Verdict {
	c := &ps.Context
	if e.ct != nil {
		e.collect(c.Now)
	}
	v.Mark, v.Priority = c.Mark, c.Priority
	v.CT, v.CTDir, v.CTReason = ps.ct.State, ps.ct.Dir, ps.ct.Reason
	if !ps.ctDone {
		v.CT = conntrack.Untracked
	}
	if tr != nil {
		tr.ct, tr.ctDone = ps.ct, ps.ctDone
		ps.ct = conntrack.Result{} // its reservation, if any, moved with it
	} else if e.ct != nil && ps.ct.Pending() {
		// Dropped, or stolen, before confirmation: give up its NAT
		// reservation now rather than when the context is reused.
		e.ct.Abandon(&ps.ct)
	}
	v.Effects = c.Effects.Clone()
	c.Packet, c.LinkHeader, c.Trace = nil, nil, nil
	e.pool.Put(ps)
	return v
}

// runHook runs every table at hook h in priority order and records the
// outcome in v. It reports whether the packet goes on.
func (e *Engine) runHook(ps *pktState, h filter.Hook, v *Verdict) bool {
	c := &ps.Context
	prog := e.Program(c.Packet.Family)
	c.Hook = h
	for _, t := range filter.HookOrder[h] {
		if t != filter.Raw && (h == filter.Prerouting || h == filter.Output) && !ps.ctDone {
			// Conntrack runs at priority −200: after raw, before mangle.
			if !e.conntrackIn(ps, h, v) {
				return false
			}
		}
		if t == filter.NAT {
			if !e.natHook(ps, h, prog, v) {
				return false
			}
			continue
		}
		if prog == nil || !prog.HasTable(t) {
			continue
		}
		res := prog.Run(t, c)
		if res.Chain == nil {
			continue
		}
		decided := v.Reason != ReasonRule || res.Rule > 0
		if decided || res.Verdict.Action != filter.Accept {
			v.Hook, v.Table, v.Chain, v.Rule = h, t, res.Chain, res.Rule
			v.Reason, v.RuleRef = ReasonPolicy, nil
			if res.Rule > 0 {
				v.Reason, v.RuleRef = ReasonRule, res.Chain.Rules[res.Rule-1]
			}
		}
		switch res.Verdict.Action {
		case filter.Accept:
			continue
		case filter.Queue:
			v.Queue = res.Verdict.Queue
			if !e.queue(c, res.Verdict, v) {
				return false
			}
		case filter.Stolen:
			v.Action = filter.Stolen
			return false
		default:
			v.Action = filter.Drop
			if res.HotDrop {
				v.Reason = ReasonMalformed
			}
			return false
		}
	}
	if (h == filter.Prerouting || h == filter.Output) && !ps.ctDone {
		// A hook with only the raw table still tracks.
		if !e.conntrackIn(ps, h, v) {
			return false
		}
	}
	if h == filter.Input || h == filter.Postrouting {
		// The packet survived every hook: confirm its connection
		// (nf_confirm runs last at INPUT and POSTROUTING).
		if !e.confirm(ps, v) {
			return false
		}
	}
	v.Action = filter.Accept
	return true
}

// conntrackIn runs connection tracking for the packet, once, and hands
// its state to the rules. It reports whether the packet goes on (the
// table may be full).
func (e *Engine) conntrackIn(ps *pktState, h filter.Hook, v *Verdict) bool {
	ps.ctDone = true
	c := &ps.Context
	if e.ct == nil {
		return true
	}
	if c.Notrack {
		ps.ct.Untrack()
	} else {
		// Checksums are verified at PREROUTING only, as the kernel does.
		e.ct.In(&ps.ct, c.Packet, c.Zone, c.Now, h == filter.Prerouting)
	}
	if ps.ct.Drop {
		v.Action, v.Reason, v.Hook = filter.Drop, ReasonConntrack, h
		return false
	}
	if ps.ct.Pending() && !e.newConnection(ps) {
		v.Action, v.Reason, v.Hook = filter.Drop, ReasonNAT, h
		e.natDrops.Add(1)
		return false
	}
	e.setCTInfo(ps)
	return true
}

// newConnection finishes setting up a new connection, as init_conntrack
// does after the lookup: one an expectation created gets the NAT its
// expectation's function gives it (nf_nat_follow_master, say), and any
// other gets the helper its CT --helper template names. It reports false
// when that NAT finds no free tuple.
func (e *Engine) newConnection(ps *pktState) bool {
	c, r := &ps.Context, &ps.ct
	if exp, ok := r.Expected(); ok {
		return exp.Fn == "" || helpers.RunExpectFn(exp, r, e.ct, ps, c.Now)
	}
	if c.Helper != "" {
		if h := e.helpers.Lookup(c.Helper, c.Packet.Family, r.Proto()); h != nil {
			e.ct.SetHelper(r, h)
		}
	}
	if ps.synproxyTemplate {
		e.ct.SetSynproxy(r, conntrack.Synproxy{})
	}
	return true
}

// setCTInfo hands the packet's conntrack state to the rules.
func (e *Engine) setCTInfo(ps *pktState) {
	c := &ps.Context
	r := &ps.ct
	c.CT = filter.CTInfo{Tracked: true, Status: uint32(r.Status), Mark: r.Mark, Reply: r.Dir == conntrack.Reply}
	if r.Tracked() {
		c.CT.Proto, c.CT.Expire, c.CT.Source, c.CT.Acct, c.CT.Labels = r.Proto(), r.Expire, ps, ps, ps
	}
	switch ps.ct.State {
	case conntrack.New:
		c.CT.State = filter.StateNew
	case conntrack.Established:
		c.CT.State = filter.StateEstablished
	case conntrack.Related:
		c.CT.State = filter.StateRelated
	case conntrack.Untracked:
		c.CT.State = filter.StateUntracked
	default:
		c.CT.State = filter.StateInvalid
	}
}

// FillCT implements filter.CTSource: the connection's tuples, for the
// conntrack match's --ctorig*/--ctrepl* conditions, and its master's
// helper, for -m helper.
func (ps *pktState) FillCT(ct *filter.CTInfo) {
	if h := ps.ct.MasterHelper; h != nil {
		ct.Helper = h.Name()
	}
	o, rp := ps.ct.Tuple(conntrack.Original), ps.ct.Tuple(conntrack.Reply)
	ct.OrigSrc, ct.OrigDst, ct.ReplSrc, ct.ReplDst = o.SrcAddr(), o.DstAddr(), rp.SrcAddr(), rp.DstAddr()
	ct.OrigSrcPort, ct.OrigDstPort, ct.ReplSrcPort, ct.ReplDstPort = o.SrcPort, o.DstPort, rp.SrcPort, rp.DstPort
}

// FillCTCounters implements filter.CTCounterSource: the connection's
// packet and byte counters, for connbytes.
func (ps *pktState) FillCTCounters(ct *filter.CTInfo) {
	if ps.table == nil {
		return
	}
	if c, ok := ps.table.Counters(&ps.ct); ok {
		for d := range c {
			ct.Counters[d] = filter.CTCounter{Packets: c[d].Packets, Bytes: c[d].Bytes}
		}
		ct.HasCounters = true
	}
}

// CTLabels implements filter.CTLabelStore: the connection's labels, for
// -m connlabel.
func (ps *pktState) CTLabels() ([2]uint64, bool) {
	if ps.table == nil {
		return [2]uint64{}, false
	}
	return ps.table.Labels(&ps.ct)
}

// SetCTLabel implements filter.CTLabelStore: -m connlabel --set.
func (ps *pktState) SetCTLabel(bit uint) {
	if ps.table != nil {
		ps.table.SetLabel(&ps.ct, bit, ps.Context.Now)
	}
}

// confirm stores what the rules changed in the connection (its mark),
// hands the packet to the connection's helper, then to the SYNPROXY
// hooks for a connection SYNPROXY opened, shifts the sequence numbers
// of a connection a helper resized or SYNPROXY spliced, and confirms a
// new connection, as nf_confirm does when the packet leaves.
func (e *Engine) confirm(ps *pktState, v *Verdict) bool {
	if e.ct == nil || !ps.ct.Tracked() {
		return true
	}
	if ps.Context.CT.Mark != ps.ct.Mark {
		e.ct.SetMark(&ps.ct, ps.Context.CT.Mark, ps.Context.Now)
	}
	if ps.ct.Help.Helper != nil && !e.help(ps, v) {
		return false
	}
	if sp, ok := ps.ct.Synproxy(); ok && !e.synproxyHook(ps, sp, v) {
		return false
	}
	if ps.ct.Status&conntrack.StatusSeqAdjust != 0 && !ps.loopedBack() {
		e.ct.SeqAdjust(&ps.ct, ps.Context.Packet)
	}
	if !e.ct.Confirm(&ps.ct) {
		v.Action, v.Reason = filter.Drop, ReasonConntrack
		ps.ct.Reason = "insert failed: the connection was confirmed by another packet"
		return false
	}
	return true
}

// loopedBack reports whether the packet is one the host sent itself,
// back at INPUT through lo (nf_is_loopback_packet): its sequence
// numbers were adjusted when it left, and SYNPROXY's hook saw it there.
func (ps *pktState) loopedBack() bool {
	return ps.Context.Hook == filter.Input && ps.Context.In == "lo"
}

// help hands the packet to its connection's helper, except an ICMP error
// in the reply direction (nf_confirm skips ctinfo RELATED_REPLY), and
// stores the helper's state. It reports false when the helper drops the
// packet.
func (e *Engine) help(ps *pktState, v *Verdict) bool {
	r := &ps.ct
	h, ok := r.Help.Helper.(*helpers.Helper)
	if !ok || r.State == conntrack.Related && r.Dir == conntrack.Reply {
		return true
	}
	c := &ps.Context
	ps.helpData = r.Help.Data
	ps.call = helpers.Call{Packet: c.Packet, CT: r, Table: e.ct, Now: c.Now, Data: &ps.helpData, Out: c.Out, Routes: ps.env}
	if c.Hook == filter.Postrouting && ps.env.IsLocal(c.Packet.Src()) {
		// Sent by the host itself: the broadcast helpers want its route.
		ps.local = helpers.LocalRoute{Broadcast: ps.env.AddrType(c.Packet.Dst(), c.Out) == filter.AddrBroadcast, OutAddrs: ps.env.ifaddrs[c.Out]}
		ps.call.Local = &ps.local
	}
	hv := h.Help(&ps.call)
	e.ct.SetHelpData(r, &ps.helpData)
	ps.call = helpers.Call{}
	if hv.Drop {
		v.Action, v.Reason = filter.Drop, ReasonHelper
		r.Reason = h.Name() + ": " + hv.Reason
		return false
	}
	return true
}

// queue hands a queued packet to the Queue callback, or, with none, acts
// as the kernel does when no program listens on the queue.
func (e *Engine) queue(c *filter.Context, fv filter.Verdict, v *Verdict) bool {
	v.Reason = ReasonQueue
	if e.cfg.Queue == nil {
		if fv.Bypass {
			return true
		}
		v.Action = filter.Drop
		return false
	}
	m := Meta{Hook: c.Hook, In: c.In, Out: c.Out, Mark: c.Mark, Time: c.Now}
	if e.cfg.Queue(fv.Queue, c.Packet, m) {
		return true
	}
	v.Action = filter.Drop
	return false
}

// PacketConn implements filter.ConnCounter: the packet's connection, for
// connlimit.
func (ps *pktState) PacketConn() (filter.ConnID, uint16, bool) {
	if ps.ct.Tracked() {
		t := ps.ct.Tuple(conntrack.Original)
		return connID(&t), t.Zone, true
	}
	t, ok := ps.table.TupleOf(ps.Context.Packet, ps.Context.Zone)
	return connID(&t), t.Zone, ok
}

// ConnState implements filter.ConnCounter.
func (ps *pktState) ConnState(id filter.ConnID) (tracked, closing bool) {
	c, _, ok := ps.table.Get(tupleOfID(&id), ps.Context.Now)
	return ok, ok && (c.TCPState == conntrack.TCPTimeWait || c.TCPState == conntrack.TCPClose)
}

// connID and tupleOfID convert between a tuple and connlimit's opaque
// name for it.
func connID(t *conntrack.Tuple) filter.ConnID {
	var id filter.ConnID
	copy(id[0:16], t.Src[:])
	copy(id[16:32], t.Dst[:])
	binary.BigEndian.PutUint16(id[32:], t.SrcPort)
	binary.BigEndian.PutUint16(id[34:], t.DstPort)
	binary.BigEndian.PutUint16(id[36:], t.Zone)
	id[38], id[39] = byte(t.Family), t.Proto
	return id
}

func tupleOfID(id *filter.ConnID) conntrack.Tuple {
	var t conntrack.Tuple
	copy(t.Src[:], id[0:16])
	copy(t.Dst[:], id[16:32])
	t.SrcPort = binary.BigEndian.Uint16(id[32:])
	t.DstPort = binary.BigEndian.Uint16(id[34:])
	t.Zone = binary.BigEndian.Uint16(id[36:])
	t.Family, t.Proto = packet.Family(id[38]), id[39]
	return t
}
