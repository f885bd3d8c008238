package nfq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config configures a Queue.
type Config struct {
	// Num is the queue number (--queue-num).
	Num uint16
	// CopyRange is how many bytes of each packet the kernel copies
	// (0: all of it, up to the kernel's cap of 65531).
	CopyRange uint32
	// MaxLen is the queue's length limit (0: the kernel's 1024).
	MaxLen uint32
	// FailOpen accepts packets the queue or the socket cannot take,
	// instead of dropping them (NFQA_CFG_F_FAIL_OPEN).
	FailOpen bool
	// GSO asks for GSO super-packets unsegmented (NFQA_CFG_F_GSO); their
	// checksums may be partial.
	GSO bool
	// UIDGID asks for the owning socket's uid and gid.
	UIDGID bool
	// RcvBuf is the socket receive buffer, set with SO_RCVBUFFORCE (0: 8 MiB).
	RcvBuf int
	// Batch is how many messages one Receive reads at most (0: 64).
	Batch int
	// Wait bounds how long Receive blocks (0: 100 ms), so a serving loop
	// notices Close.
	Wait time.Duration
}

// Action is a verdict's action, with the kernel's values.
type Action uint32

// The actions (NF_DROP, NF_ACCEPT, NF_STOLEN, NF_QUEUE, NF_REPEAT).
const (
	Drop   Action = 0
	Accept Action = 1
	Stolen Action = 2
	Repeat Action = 4
)

// String returns the action's name.
func (a Action) String() string {
	switch a {
	case Drop:
		return "DROP"
	case Accept:
		return "ACCEPT"
	case Stolen:
		return "STOLEN"
	case Repeat:
		return "REPEAT"
	}
	if a&0xffff == 3 {
		return fmt.Sprintf("QUEUE %d", a>>16)
	}
	return fmt.Sprintf("verdict %d", uint32(a))
}

// ToQueue returns the action that sends a packet on to queue n (NF_QUEUE
// with the queue number in the high 16 bits).
func ToQueue(n uint16) Action { return Action(uint32(n)<<16 | 3) }

// Verdict is the answer for one packet.
type Verdict struct {
	Action Action
	// SetMark gives the packet Mark.
	SetMark bool
	Mark    uint32
	// Payload, if not nil, replaces the packet.
	Payload []byte
}

// Stats are a Queue's counters.
type Stats struct {
	// Packets received, and verdicts sent.
	Packets, Verdicts uint64
	// Messages are the netlink messages sent for those verdicts; Syscalls
	// the receive and send system calls.
	Messages, Syscalls uint64
	// ENOBUFS counts the times the kernel could not deliver packets to
	// the socket (those packets were dropped, or accepted with fail-open).
	ENOBUFS uint64
	// Errors counts errors the kernel reported for verdicts.
	Errors uint64
}

// Queue is one bound netfilter queue. Receive, SetVerdict and Flush are
// for one goroutine; Stats and Close may be called from any.
type Queue struct {
	fd     int
	cfg    Config
	seq    uint32
	closed atomic.Bool
	// fdMu keeps VerdictAll, from another goroutine, off a closed fd.
	fdMu sync.Mutex
	// lastID is the highest packet id received, for VerdictAll.
	lastID atomic.Uint32
	// stopping is set by Shutdown: Receive drains what is queued, then
	// reports ErrClosed. stopAt bounds the drain.
	stopping atomic.Bool
	stopAt   time.Time

	// Receiving: one buffer per message slot, read by recvmmsg.
	bufs    [][]byte
	iovs    []unix.Iovec
	hdrs    []unix.Mmsghdr
	pkts    []Packet
	backlog [][]byte // packet messages that arrived while configuring

	// Sending.
	out     builder
	pending []pendingVerdict
	// received counts packets handed out; verdicted those answered,
	// flushed or pending. All received packets answered means runs of
	// one plain verdict may be folded into a batch verdict.
	received, verdicted uint64

	stats struct {
		packets, verdicts, messages, syscalls, enobufs, errors atomic.Uint64
	}
}

type pendingVerdict struct {
	id uint32
	v  Verdict
}

// ErrClosed is returned by a Queue's methods once it is closed.
var ErrClosed = errors.New("nfq: queue closed")

// Open binds queue cfg.Num on a new netlink socket and configures it.
// Errors say what failed: EPERM without CAP_NET_ADMIN, EBUSY when another
// socket has the queue.
func Open(cfg Config) (*Queue, error) {
	if cfg.CopyRange == 0 || cfg.CopyRange > maxCopyRange {
		cfg.CopyRange = maxCopyRange
	}
	if cfg.RcvBuf == 0 {
		cfg.RcvBuf = 8 << 20
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 100 * time.Millisecond
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("nfq: netlink socket: %w", err)
	}
	q := &Queue{fd: fd, cfg: cfg}
	if err := q.setup(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return q, nil
}

func (q *Queue) setup() error {
	cfg := &q.cfg
	if err := unix.Bind(q.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("nfq: bind netlink socket: %w", err)
	}
	// A larger buffer than rmem_max needs SO_RCVBUFFORCE (CAP_NET_ADMIN);
	// without it, fall back to what SO_RCVBUF grants.
	if err := unix.SetsockoptInt(q.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.RcvBuf); err != nil {
		if err := unix.SetsockoptInt(q.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.RcvBuf); err != nil {
			return fmt.Errorf("nfq: receive buffer: %w", err)
		}
	}
	// ENOBUFS is counted in Stats, never an error that stops the reader.
	if err := unix.SetsockoptInt(q.fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1); err != nil {
		return fmt.Errorf("nfq: NETLINK_NO_ENOBUFS: %w", err)
	}
	tv := unix.NsecToTimeval(cfg.Wait.Nanoseconds())
	if err := unix.SetsockoptTimeval(q.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("nfq: receive timeout: %w", err)
	}
	msgLen := int(cfg.CopyRange) + 512 // the payload and its metadata
	q.bufs = make([][]byte, cfg.Batch)
	q.iovs = make([]unix.Iovec, cfg.Batch)
	q.hdrs = make([]unix.Mmsghdr, cfg.Batch)
	q.pkts = make([]Packet, 0, cfg.Batch)
	for i := range q.bufs {
		q.bufs[i] = make([]byte, msgLen)
		q.iovs[i].Base = &q.bufs[i][0]
		q.iovs[i].SetLen(msgLen)
		q.hdrs[i].Hdr.Iov = &q.iovs[i]
		q.hdrs[i].Hdr.SetIovlen(1)
	}
	q.out.b = make([]byte, 0, 64<<10)
	q.pending = make([]pendingVerdict, 0, cfg.Batch)

	// Bind, then the flags and the length, and the copy mode last: only
	// then does the kernel deliver packets.
	cmd := []byte{cmdBind, 0, 0, 0}
	if err := q.config("bind", func(w *builder) { w.attr(cfgCmd, cmd) }); err != nil {
		return err
	}
	var flags uint32
	if cfg.FailOpen {
		flags |= flagFailOpen
	}
	if cfg.GSO {
		flags |= flagGSO
	}
	if cfg.UIDGID {
		flags |= flagUIDGID
	}
	if err := q.config("flags", func(w *builder) {
		w.attr32(cfgFlags, flags)
		w.attr32(cfgMask, flagFailOpen|flagGSO|flagUIDGID)
	}); err != nil {
		return err
	}
	if cfg.MaxLen > 0 {
		if err := q.config("queue maxlen", func(w *builder) { w.attr32(cfgMaxLen, cfg.MaxLen) }); err != nil {
			return err
		}
	}
	var params [5]byte // struct nfqnl_msg_config_params, packed
	binary.BigEndian.PutUint32(params[:], cfg.CopyRange)
	params[4] = copyPacket
	return q.config("copy mode", func(w *builder) { w.attr(cfgParams, params[:]) })
}

// config sends one configuration message and waits for its
// acknowledgement, keeping any packet that arrives meanwhile.
func (q *Queue) config(what string, attrs func(*builder)) error {
	q.seq++
	var w builder
	w.begin(msgConfig, unix.NLM_F_ACK, q.seq, q.cfg.Num)
	attrs(&w)
	w.end()
	if err := q.send(w.b); err != nil {
		return fmt.Errorf("nfq: queue %d: %s: %w", q.cfg.Num, what, err)
	}
	buf := q.bufs[0] // free until the first Receive
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(q.fd, buf, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err == unix.ENOBUFS {
			q.stats.enobufs.Add(1)
			continue
		}
		if err != nil {
			return fmt.Errorf("nfq: queue %d: %s: %w", q.cfg.Num, what, err)
		}
		for b := buf[:n]; len(b) > 0; {
			typ, _, seq, body, rest, err := nextMsg(b)
			if err != nil {
				return fmt.Errorf("nfq: queue %d: %s: %w", q.cfg.Num, what, err)
			}
			b = rest
			switch {
			case typ == unix.NLMSG_ERROR && seq == q.seq:
				if err := nlError(body); err != nil {
					return fmt.Errorf("nfq: queue %d: %s: %w", q.cfg.Num, what, explain(err))
				}
				return nil
			case typ == msgPacket:
				q.backlog = append(q.backlog, append([]byte(nil), buf[:n]...))
				b = nil
			}
		}
	}
	return fmt.Errorf("nfq: queue %d: %s: no answer from the kernel", q.cfg.Num, what)
}

// ErrBusy is wrapped by Open's error when another socket has the queue
// bound; ErrPermission when the process lacks CAP_NET_ADMIN.
var (
	ErrBusy       = errors.New("the queue is bound by another process")
	ErrPermission = errors.New("binding a queue needs CAP_NET_ADMIN")
)

// explain says what a configuration error means. The kernel answers
// EPERM both without CAP_NET_ADMIN and for a queue another socket owns
// (nfqnl_recv_config), so the capability decides which.
func explain(err error) error {
	if errors.Is(err, unix.EPERM) {
		if hasNetAdmin() {
			return fmt.Errorf("%w: %w", ErrBusy, err)
		}
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// hasNetAdmin reports whether the process has CAP_NET_ADMIN in effect.
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

// drainLimit bounds how long a Queue drains after Shutdown.
const drainLimit = time.Second

// Receive waits for queued packets, at most Config.Wait, and returns
// those that arrived: possibly none. The packets are views into the
// Queue's buffers, valid until the next Receive. ENOBUFS is counted, not
// returned. It returns the kernel's error if it reports one for a
// verdict. After Shutdown it returns what is still queued, without
// waiting, and then ErrClosed (after at most a second of draining).
func (q *Queue) Receive() ([]Packet, error) {
	if q.closed.Load() {
		return nil, ErrClosed
	}
	stopping := q.stopping.Load()
	if stopping {
		if q.stopAt.IsZero() {
			q.stopAt = time.Now()
		} else if time.Since(q.stopAt) > drainLimit {
			return nil, ErrClosed
		}
	}
	q.pkts = q.pkts[:0]
	if len(q.backlog) > 0 {
		var firstErr error
		for _, m := range q.backlog {
			if err := q.parse(m); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		q.backlog = nil
		q.handedOut()
		return q.pkts, firstErr
	}
	n, err := q.recvmmsg(stopping)
	q.stats.syscalls.Add(1)
	switch err {
	case nil:
	case unix.EAGAIN, unix.EINTR:
		if stopping {
			return nil, ErrClosed // drained
		}
		return q.pkts, nil
	case unix.ENOBUFS:
		q.stats.enobufs.Add(1)
		return q.pkts, nil
	default:
		if q.closed.Load() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("nfq: queue %d: receive: %w", q.cfg.Num, err)
	}
	var firstErr error
	for i := range n {
		if err := q.parse(q.bufs[i][:q.hdrs[i].Len]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	q.handedOut()
	return q.pkts, firstErr
}

// handedOut records, once per Receive, what it handed out: the count,
// and the highest id for VerdictAll.
func (q *Queue) handedOut() {
	if n := len(q.pkts); n > 0 {
		q.stats.packets.Add(uint64(n))
		q.lastID.Store(q.pkts[n-1].ID)
	}
}

// recvmmsg reads up to Batch messages: it blocks (up to the receive
// timeout, or not at all with nowait) for the first and takes whatever
// else is already there.
func (q *Queue) recvmmsg(nowait bool) (int, error) {
	flags := uintptr(unix.MSG_WAITFORONE)
	if nowait {
		flags = unix.MSG_DONTWAIT
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(q.fd), uintptr(unsafe.Pointer(&q.hdrs[0])),
		uintptr(len(q.hdrs)), flags, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// parse adds the packets of one datagram to q.pkts.
func (q *Queue) parse(b []byte) error {
	for len(b) > 0 {
		typ, _, _, body, rest, err := nextMsg(b)
		if err != nil {
			return err
		}
		b = rest
		switch typ {
		case msgPacket:
			if len(q.pkts) == cap(q.pkts) {
				// More packets in one datagram than slots: keep them
				// all (this grows once and is kept).
				q.pkts = append(q.pkts, Packet{})[:len(q.pkts)]
			}
			q.pkts = q.pkts[:len(q.pkts)+1]
			p := &q.pkts[len(q.pkts)-1]
			if _, err := parsePacket(body, p); err != nil {
				q.pkts = q.pkts[:len(q.pkts)-1]
				return err
			}
			if len(rest) > 0 {
				// Another message follows in the buffer: a payload
				// rewritten in place (a helper growing it) must not run
				// into it. The last one may grow into the buffer's
				// unused end.
				p.Payload = p.Payload[:len(p.Payload):len(p.Payload)]
			}
			q.received++
		case unix.NLMSG_ERROR:
			if err := nlError(body); err != nil {
				q.stats.errors.Add(1)
				return fmt.Errorf("nfq: queue %d: the kernel refused a verdict: %w", q.cfg.Num, err)
			}
		}
	}
	return nil
}

// SetVerdict records the verdict for packet id; Flush sends it.
func (q *Queue) SetVerdict(id uint32, v Verdict) {
	q.pending = append(q.pending, pendingVerdict{id, v})
	q.verdicted++
}

// Flush sends the recorded verdicts in one system call. When every
// packet received so far has its verdict, a run of packets with the same
// verdict and no mark or payload goes as one NFQNL_MSG_VERDICT_BATCH
// (which answers every queued id up to the run's last).
func (q *Queue) Flush() error {
	if len(q.pending) == 0 {
		return nil
	}
	if q.closed.Load() {
		return ErrClosed
	}
	foldable := q.verdicted == q.received
	w := &q.out
	w.b = w.b[:0]
	msgs := 0
	for i := 0; i < len(q.pending); i++ {
		pv := &q.pending[i]
		plain := !pv.v.SetMark && pv.v.Payload == nil
		if foldable && plain {
			// Extend the run of identical plain verdicts.
			j := i
			for j+1 < len(q.pending) {
				n := &q.pending[j+1]
				if n.v.SetMark || n.v.Payload != nil || n.v.Action != pv.v.Action || n.id <= q.pending[j].id {
					break
				}
				j++
			}
			if j > i {
				q.seq++
				w.begin(msgBatch, 0, q.seq, q.cfg.Num)
				w.verdictHdr(uint32(pv.v.Action), q.pending[j].id)
				w.end()
				msgs++
				i = j
				continue
			}
		}
		q.seq++
		w.begin(msgVerdict, 0, q.seq, q.cfg.Num)
		w.verdictHdr(uint32(pv.v.Action), pv.id)
		if pv.v.SetMark {
			w.attr32(attrMark, pv.v.Mark)
		}
		if pv.v.Payload != nil {
			w.attr(attrPayload, pv.v.Payload)
		}
		w.end()
		msgs++
	}
	n := len(q.pending)
	q.pending = q.pending[:0]
	q.stats.verdicts.Add(uint64(n))
	q.stats.messages.Add(uint64(msgs))
	q.stats.syscalls.Add(1)
	if err := q.send(w.b); err != nil {
		return fmt.Errorf("nfq: queue %d: send %d verdicts: %w", q.cfg.Num, n, err)
	}
	return nil
}

// send writes b to the kernel.
func (q *Queue) send(b []byte) error {
	var sa unix.RawSockaddrNetlink
	sa.Family = unix.AF_NETLINK
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(q.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
		uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return errno
	}
	return nil
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	s := &q.stats
	return Stats{Packets: s.packets.Load(), Verdicts: s.verdicts.Load(), Messages: s.messages.Load(),
		Syscalls: s.syscalls.Load(), ENOBUFS: s.enobufs.Load(), Errors: s.errors.Load()}
}

// Num returns the queue number.
func (q *Queue) Num() uint16 { return q.cfg.Num }

// Close unbinds the queue and closes the socket. Call it from the
// serving goroutine after its loop ends (Receive returns ErrClosed after
// Shutdown, once the queue is drained), having answered every packet it
// received: the kernel drops what is still queued when the socket goes.
func (q *Queue) Close() error {
	q.fdMu.Lock()
	defer q.fdMu.Unlock()
	if q.closed.Swap(true) && q.fd < 0 {
		return nil
	}
	var w builder
	q.seq++
	w.begin(msgConfig, 0, q.seq, q.cfg.Num)
	w.attr(cfgCmd, []byte{cmdUnbind, 0, 0, 0})
	w.end()
	errUnbind := q.send(w.b)
	err := unix.Close(q.fd)
	q.fd = -1
	if errUnbind != nil {
		return fmt.Errorf("nfq: queue %d: unbind: %w", q.cfg.Num, errUnbind)
	}
	return err
}

// VerdictAll answers every packet received so far that has no verdict
// yet with action, in one NFQNL_MSG_VERDICT_BATCH. A watchdog calls it,
// from its own goroutine, when the serving loop is stuck; verdicts the
// loop sends later for those packets are refused by the kernel (ENOENT)
// and counted in Stats.Errors.
func (q *Queue) VerdictAll(action Action) error {
	q.fdMu.Lock()
	defer q.fdMu.Unlock()
	if q.closed.Load() || q.fd < 0 {
		return ErrClosed
	}
	var w builder
	w.begin(msgBatch, 0, 0, q.cfg.Num)
	w.verdictHdr(uint32(action), q.lastID.Load())
	w.end()
	return q.send(w.b)
}

// Shutdown asks the serving loop to stop: Receive goes on returning the
// packets already queued, without waiting for more, and then ErrClosed.
// It may be called from any goroutine.
func (q *Queue) Shutdown() { q.stopping.Store(true) }
