package ctsync

import (
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// SessionConfig configures one end of a sync link.
type SessionConfig struct {
	// NoTrack selects conntrackd's NOTRACK mode: best effort, no
	// acknowledgements. The default is FTFW.
	NoTrack bool
	// ACKWindowSize is how many messages FTFW receives before it
	// acknowledges them (conntrackd's ACKWindowSize; 0 means its default,
	// 300).
	ACKWindowSize int
	// ResendQueueSize bounds how many sent messages FTFW keeps until
	// they are acknowledged; beyond it the oldest is dropped
	// (conntrackd's ResendQueueSize; 0 means its default, 131072).
	ResendQueueSize int
	// MaxDatagram is the largest datagram payload; a datagram holds
	// fewer bytes than this, as conntrackd's channel buffer does (0
	// means 1472, an MTU of 1500 less the IPv4 and UDP headers).
	MaxDatagram int
	// Peer is the peer's conntrack-tools release; attributes it does
	// not know are not sent (the zero value means Latest).
	Peer Release
	// Resync is called when the peer asks for a full dump (RESYNC): it
	// should Enqueue every connection of the local table.
	Resync func()
}

// aliveInterval is how long a sender stays silent before it sends an
// ALIVE, or the ACK it owes (ALIVE_INT in sync-ftfw.c).
const aliveInterval = time.Second

type objStatus uint8

const (
	objNew objStatus = iota
	objAlive
	objDead
)

// node is an entry of the transmit or the resend queue: a control
// message, or a connection whose latest state is sent when the node is
// transmitted (conntrackd builds the message at transmit time, so a
// retransmission carries the current state).
type node struct {
	prev, next *node
	in         *queue
	ctl        bool
	flags      Flags
	from, to   uint32
	status     objStatus
	conn       Conn
	// exp, when set, makes the node an expectation's (conn unused).
	exp *Exp
	seq uint32
}

// forget removes a data node from the session's index.
func (s *Session) forget(n *node) {
	if n.exp != nil {
		delete(s.exps, expKey{n.exp.Master, n.exp.Tuple})
	} else {
		delete(s.objects, n.conn.Orig)
	}
}

// expKey identifies an expectation: its master and its tuple.
type expKey struct{ master, tuple conntrack.Tuple }

// queue is a doubly linked list of nodes, so that a node moves between
// the transmit and resend queues in constant time.
type queue struct {
	head, tail *node
	n          int
}

func (q *queue) push(n *node) {
	n.in, n.prev, n.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.next = n
	} else {
		q.head = n
	}
	q.tail = n
	q.n++
}

func (q *queue) remove(n *node) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		q.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		q.tail = n.prev
	}
	n.prev, n.next, n.in = nil, nil, nil
	q.n--
}

type helloState uint8

const (
	helloInit helloState = iota
	helloSay
	helloDone
)

// SessionStats counts what a session did, as conntrackd -s reports it.
type SessionStats struct {
	// MsgSent and MsgRecv count messages, data and control.
	MsgSent, MsgRecv uint64
	// Lost counts messages missing in gaps of the peer's sequence
	// numbers (the true count, not conntrackd's, which is two higher
	// per gap); Before counts messages older than the last one, dropped.
	Lost, Before uint64
	// Malformed counts messages conntrackd would drop: truncated, of
	// another version, a bad header or a payload msg2ct refuses.
	Malformed uint64
	// Expectations counts expectation messages received.
	Expectations uint64
	// Resent counts connections sent again because the peer asked (NACK).
	Resent uint64
	// Evicted counts messages dropped from a full resend queue, whose
	// delivery is no longer guaranteed.
	Evicted uint64
	// ResyncsRequested counts RESYNC requests received.
	ResyncsRequested uint64
	// Unsent counts attributes left out because the peer's release does
	// not know them.
	Unsent uint64
	// ResendQueue is how many messages await acknowledgement, control
	// messages included: FTFW's ACKs are acknowledged too, so an idle
	// link keeps its last one.
	ResendQueue int
	// Unacked is how many connections' messages await acknowledgement.
	Unacked int
}

// Received is a data message from the peer: a connection's or an
// expectation's.
type Received struct {
	Type MsgType
	// Conn is a connection message's connection (Type TypeNew,
	// TypeUpdate or TypeDelete).
	Conn Conn
	// Exp is an expectation message's expectation (TypeExpNew,
	// TypeExpUpdate, TypeExpDelete).
	Exp Exp
}

// Session is one end of a sync link, with conntrackd's FTFW or NOTRACK
// behaviour and no I/O: datagrams go in through Receive and come out of
// Flush, and Tick keeps time. Its state is conntrackd's (sync-ftfw.c):
// one sequence number for everything sent; one last-received number, so
// exactly one peer; the HELLO handshake that tells a restarted peer
// from a gap; windowed ACKs, NACKs for gaps, and a resend queue that
// holds what was sent until it is acknowledged.
//
// A Session is not safe for concurrent use.
type Session struct {
	cfg SessionConfig

	seq uint32

	tx, rs  queue
	objects map[conntrack.Tuple]*node
	exps    map[expKey]*node
	// free are connection nodes done with, for reuse: a busy link
	// then allocates nothing per message.
	free []*node

	lastRecv   uint32
	recvSet    bool
	ackFrom    uint32
	ackFromSet bool
	window     int
	hello      helloState
	helloBack  bool

	lastXmit time.Time
	stats    SessionStats
}

// NewSession returns a session that starts sending at time now; its
// first sequence number is now's Unix seconds, as conntrackd's is.
func NewSession(cfg SessionConfig, now time.Time) *Session {
	if cfg.ACKWindowSize <= 0 {
		cfg.ACKWindowSize = 300
	}
	if cfg.ResendQueueSize <= 0 {
		cfg.ResendQueueSize = 131072
	}
	if cfg.MaxDatagram <= 0 {
		cfg.MaxDatagram = 1472
	}
	if cfg.Peer == (Release{}) {
		cfg.Peer = Latest
	}
	return &Session{cfg: cfg, seq: uint32(now.Unix()), objects: map[conntrack.Tuple]*node{}, exps: map[expKey]*node{},
		window: cfg.ACKWindowSize, lastXmit: now}
}

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats {
	st := s.stats
	st.ResendQueue = s.rs.n
	for n := s.rs.head; n != nil; n = n.next {
		if !n.ctl {
			st.Unacked++
		}
	}
	return st
}

// Enqueue queues a connection's change to be sent at the next Flush:
// typ is TypeNew, TypeUpdate or TypeDelete. Changes to one connection
// not yet sent are folded into one message with its latest state; one
// already sent and awaiting its ACK is queued again, as conntrackd's
// ftfw_enqueue does.
func (s *Session) Enqueue(typ MsgType, c *Conn) {
	key := c.Orig
	n := s.objects[key]
	if n == nil {
		if k := len(s.free); k > 0 {
			n, s.free = s.free[k-1], s.free[:k-1]
		} else {
			n = &node{}
		}
		s.objects[key] = n
	}
	n.conn = *c
	s.requeue(n, typ)
}

// maxFree bounds the nodes kept for reuse.
const maxFree = 4096

// release forgets a connection or control node that left both queues,
// keeping it for reuse.
func (s *Session) release(n *node) {
	if !n.ctl {
		s.forget(n)
	}
	if n.exp == nil && len(s.free) < maxFree {
		*n = node{}
		s.free = append(s.free, n)
	}
}

// EnqueueExp queues an expectation's change, as Enqueue does a
// connection's: typ is TypeExpNew, TypeExpUpdate or TypeExpDelete.
func (s *Session) EnqueueExp(typ MsgType, x *Exp) {
	key := expKey{x.Master, x.Tuple}
	n := s.exps[key]
	if n == nil {
		n = &node{exp: new(Exp)}
		s.exps[key] = n
	}
	*n.exp = *x
	s.requeue(n, typ-TypeExpNew+TypeNew)
}

// requeue gives a data node its new status and queues it for sending.
func (s *Session) requeue(n *node, typ MsgType) {
	// The message type follows the cache object's status when it is
	// sent: a NEW folded with an UPDATE goes out as CT_UPD, as
	// cache_update_force leaves it.
	switch typ {
	case TypeDelete:
		n.status = objDead
	case TypeNew:
		n.status = objNew
	default:
		n.status = objAlive
	}
	if n.in == &s.rs {
		s.rs.remove(n)
	}
	if n.in == nil {
		s.tx.push(n)
	}
}

// RequestResync asks the peer for a full dump (conntrackd -n).
func (s *Session) RequestResync() { s.control(FlagResync, 0, 0) }

func (s *Session) control(flags Flags, from, to uint32) {
	var n *node
	if k := len(s.free); k > 0 {
		n, s.free = s.free[k-1], s.free[:k-1]
	} else {
		n = new(node)
	}
	n.ctl, n.flags, n.from, n.to = true, flags, from, to
	s.tx.push(n)
}

// Pending reports whether Flush has anything to send.
func (s *Session) Pending() bool { return s.tx.n > 0 }

// Tick keeps the link alive: after a second with nothing sent it queues
// the ACK the session owes, or an ALIVE.
func (s *Session) Tick(now time.Time) {
	if now.Sub(s.lastXmit) < aliveInterval {
		return
	}
	if !s.cfg.NoTrack && s.ackFromSet && s.recvSet {
		s.control(FlagACK, s.ackFrom, s.lastRecv)
		s.ackFromSet = false
	} else {
		s.control(FlagAlive, 0, 0)
	}
}

// Flush sends what is queued: it appends the datagrams to dst and
// returns it. Messages are packed into datagrams as conntrackd packs
// them, whole, in queue order.
func (s *Session) Flush(dst [][]byte, now time.Time) [][]byte {
	var cur []byte
	for n := s.tx.head; n != nil; n = s.tx.head {
		s.tx.remove(n)
		seq := s.nextSeq()
		flags := s.helloFlags()
		start := len(cur)
		if n.ctl {
			cur = AppendControl(cur, n.flags|flags, seq, n.from, n.to)
			n.flags |= flags
		} else if n.exp != nil {
			typ := [...]MsgType{objNew: TypeExpNew, objAlive: TypeExpUpdate, objDead: TypeExpDelete}[n.status]
			cur = AppendExp(cur, typ, flags, seq, n.exp)
		} else {
			typ := [...]MsgType{objNew: TypeNew, objAlive: TypeUpdate, objDead: TypeDelete}[n.status]
			if u := n.conn.Unsent(s.cfg.Peer); u != 0 {
				s.stats.Unsent++
			}
			cur = AppendConn(cur, typ, flags, seq, &n.conn, s.cfg.Peer)
		}
		s.stats.MsgSent++
		if len(cur) >= s.cfg.MaxDatagram && start > 0 {
			dst = append(dst, cur[:start])
			cur = append([]byte(nil), cur[start:]...)
		}
		n.seq = seq
		switch {
		case s.cfg.NoTrack && !n.ctl:
			s.release(n)
		case n.ctl && !n.flags.hasRange(), s.cfg.NoTrack:
			// ALIVEs are not kept; NOTRACK keeps nothing.
			s.release(n)
		default:
			if s.rs.n >= s.cfg.ResendQueueSize {
				s.drop(s.rs.head)
				s.stats.Evicted++
			}
			s.rs.push(n)
		}
	}
	if len(cur) > 0 {
		dst = append(dst, cur)
	}
	s.lastXmit = now
	return dst
}

// drop takes a node out of the resend queue for good.
func (s *Session) drop(n *node) {
	s.rs.remove(n)
	s.release(n)
}

func (s *Session) nextSeq() uint32 {
	seq := s.seq
	s.seq++
	return seq
}

// helloFlags returns the HELLO flags for the next message sent: HELLO
// until the peer answers with HELLO_BACK, and HELLO_BACK once after
// every HELLO received. NOTRACK sends neither.
func (s *Session) helloFlags() Flags {
	if s.cfg.NoTrack {
		return 0
	}
	var f Flags
	if s.hello == helloInit {
		s.hello = helloSay
	}
	if s.hello == helloSay {
		f |= FlagHello
	}
	if s.helloBack {
		f |= FlagHelloBack
		s.helloBack = false
	}
	return f
}

// Receive processes a datagram from the peer and appends the
// connection messages it carries to dst. Control messages are handled
// here, and what they ask for (ACKs, NACKs, retransmissions, a bulk
// send) is queued for the next Flush. As conntrackd does, a truncated
// message ends the datagram, and a bad one is skipped.
func (s *Session) Receive(dst []Received, dgram []byte) []Received {
	// The checks of channel_handler_routine: a length that does not fit
	// ends the datagram, a bad version or type skips one message.
	for b := dgram; len(b) > 0; {
		n := 0
		if len(b) >= HeaderLen {
			n = int(b[2])<<8 | int(b[3])
		}
		ranged := len(b) >= 2 && MsgType(b[0]&0x0f) == TypeControl && Flags(b[1]).hasRange()
		if n < HeaderLen || n > len(b) || ranged && n < RangeHeaderLen {
			s.stats.Malformed++
			return dst
		}
		msg := b[:n]
		b = b[n:]
		h, err := ParseHeader(msg)
		if err != nil {
			s.stats.Malformed++
			continue
		}
		s.stats.MsgRecv++
		if !s.accept(&h) {
			continue
		}
		switch {
		case h.Type <= TypeDelete:
			_, c, err := DecodeConn(msg)
			if err != nil {
				s.stats.Malformed++
				continue
			}
			dst = append(dst, Received{Type: h.Type, Conn: c})
		case h.Type <= TypeExpDelete:
			_, x, err := DecodeExp(msg)
			if err != nil {
				s.stats.Malformed++
				continue
			}
			s.stats.Expectations++
			dst = append(dst, Received{Type: h.Type, Exp: x})
		}
	}
	return dst
}

// accept runs a message through the mode's sequence tracking and
// control handling (ftfw_recv, notrack_recv), and reports whether its
// payload is to be applied.
func (s *Session) accept(h *Header) bool {
	isData := h.Type.IsData()
	if !isData && !s.knownControl(h) {
		s.stats.Malformed++
		return false
	}
	if s.cfg.NoTrack {
		s.countGap(h.Seq)
		if h.Type == TypeControl && h.Flags&FlagResync != 0 {
			s.resync()
		}
		s.lastRecv, s.recvSet = h.Seq, true
		return isData
	}
	hello := h.Flags&FlagHello != 0
	if hello {
		s.helloBack = true
	}
	if h.Flags&FlagHelloBack != 0 && s.hello == helloSay {
		s.hello = helloDone
	}
	exp := s.lastRecv + 1
	switch {
	case hello:
		// The peer has (re)started and numbers its messages afresh.
		// What it was sent before is lost to it. conntrackd drops
		// its resend queue here, leaving the peer without those
		// connections until they change or it asks for a resync;
		// nfgo sends them again, with their current state.
		if s.ackFromSet && After(s.ackFrom, h.Seq) {
			s.window, s.ackFrom = s.cfg.ACKWindowSize-1, h.Seq
		}
		for n := s.rs.head; n != nil; n = s.rs.head {
			if n.ctl {
				s.drop(n)
			} else {
				s.rs.remove(n)
				s.tx.push(n)
			}
		}
		if !s.digest(h) {
			return false
		}
		s.inSequence(h.Seq)
	case s.recvSet && h.Seq != exp && After(h.Seq, exp):
		s.stats.Lost += uint64(h.Seq - exp)
		if !s.digest(h) {
			return false
		}
		if s.ackFromSet {
			s.control(FlagACK, s.ackFrom, exp-1)
		}
		s.control(FlagNACK, exp, h.Seq-1)
		s.window, s.ackFrom, s.ackFromSet = s.cfg.ACKWindowSize-1, h.Seq, true
	case s.recvSet && h.Seq != exp:
		s.stats.Before++
		return false
	default:
		if !s.digest(h) {
			return false
		}
		s.inSequence(h.Seq)
	}
	s.lastRecv, s.recvSet = h.Seq, true
	return isData
}

// knownControl reports whether a control message is one the mode
// understands: NOTRACK knows ALIVE and RESYNC; FTFW also ACK and NACK.
func (s *Session) knownControl(h *Header) bool {
	if h.Type != TypeControl {
		return false
	}
	f := h.Flags &^ (FlagHello | FlagHelloBack)
	switch {
	case f&FlagResync != 0, f&FlagAlive != 0:
		return true
	case f&(FlagACK|FlagNACK) != 0:
		return !s.cfg.NoTrack
	}
	return false
}

func (s *Session) countGap(seq uint32) {
	if exp := s.lastRecv + 1; s.recvSet && seq != exp {
		if After(seq, exp) {
			s.stats.Lost += uint64(seq - exp)
		} else {
			s.stats.Before++
		}
	}
}

// inSequence counts an in-order message against the ACK window.
func (s *Session) inSequence(seq uint32) {
	if !s.ackFromSet {
		s.ackFrom, s.ackFromSet = seq, true
	}
	s.window--
	if s.window <= 0 {
		s.control(FlagACK, s.ackFrom, seq)
		s.window, s.ackFromSet = s.cfg.ACKWindowSize, false
	}
}

// digest handles a control message (digest_msg): an ACK frees what it
// covers, a NACK queues it again, a RESYNC sends everything. It reports
// false for a message to drop.
func (s *Session) digest(h *Header) bool {
	if h.Type != TypeControl {
		return true
	}
	switch {
	case h.Flags&(FlagACK|FlagNACK) != 0:
		if After(h.From, h.To) {
			s.stats.Malformed++
			return false
		}
		for n := s.rs.head; n != nil; {
			next := n.next
			if !After(h.From, n.seq) && !After(n.seq, h.To) {
				if h.Flags&FlagACK != 0 {
					s.drop(n)
				} else {
					s.rs.remove(n)
					s.tx.push(n)
					if !n.ctl {
						s.stats.Resent++
					}
				}
			} else if After(n.seq, h.To) {
				break
			}
			n = next
		}
	case h.Flags&FlagResync != 0:
		s.resync()
	}
	return true
}

func (s *Session) resync() {
	s.stats.ResyncsRequested++
	if s.cfg.Resync != nil {
		s.cfg.Resync()
	}
}
