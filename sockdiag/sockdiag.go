// Package sockdiag finds the host's sockets through the kernel's
// sock_diag netlink interface (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY),
// for -m socket and -j TPROXY when nfgo sits behind NFQUEUE: the packets
// are the kernel's, so their sockets are too. [Lookup] implements
// filter.SocketLookup; nfgo run uses it.
//
// Each query is one exact lookup, which the kernel answers as its socket
// match looks up: for TCP the connected socket of the four addresses and
// ports, else a listener on the local ones (inet_lookup); for UDP the
// socket bound best to them (__udp4_lib_lookup, __udp6_lib_lookup). The
// answer says the socket's state, its local address (a wildcard or not),
// its mark (INET_DIAG_MARK, sent to a CAP_NET_ADMIN caller) and its
// IP_TRANSPARENT option (INET_DIAG_SOCKOPT, since Linux 5.10).
package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// Lookup asks the kernel for sockets. It is safe for concurrent use:
// each query takes a netlink socket from a pool (opening one when none
// is free) and puts it back, so queries do not allocate once the pool
// is warm. The zero value is ready; Close releases the sockets.
//
// mu is held only to take a socket from the pool or give one back, never
// across the netlink round trip, which costs microseconds: only packets
// that reach a -m socket or TPROXY rule take it.
type Lookup struct {
	mu     sync.Mutex // guards free and closed
	free   []*conn
	closed bool
	// errs counts the queries the kernel could not answer (a netlink
	// error other than "no such socket"); each is taken as no socket.
	errs atomic.Uint64
}

// conn is one netlink socket with its buffers.
type conn struct {
	fd  int
	seq uint32
	req [nlmsgHdrLen + reqLen]byte
	buf [8192]byte
}

// The netlink and inet_diag constants the queries use.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	nlmsgHdrLen      = 16
	reqLen           = 56     // struct inet_diag_req_v2
	msgLen           = 72     // struct inet_diag_msg
	attrMark         = 15     // INET_DIAG_MARK
	attrSockopt      = 22     // INET_DIAG_SOCKOPT
	tcpListen        = 10     // TCP_LISTEN
	tcpTimeWait      = 6      // TCP_TIME_WAIT
	tcpSynRecv       = 3      // TCP_SYN_RECV, a request socket's answer
	tcpFinWait2      = 5      // TCP_FIN_WAIT2
	sockoptTransp    = 1 << 5 // inet_diag_sockopt: transparent, the sixth bit of its first byte
)

// ErrClosed is returned by queries after Close.
var ErrClosed = errors.New("sockdiag: lookup closed")

// LookupSocket implements filter.SocketLookup. A query the kernel cannot
// answer finds no socket.
func (l *Lookup) LookupSocket(q filter.SocketQuery) (filter.Socket, bool) {
	s, ok, err := l.Find(q)
	if err != nil {
		l.errs.Add(1)
	}
	return s, ok
}

// Errors returns how many queries the kernel could not answer; each
// found no socket.
func (l *Lookup) Errors() uint64 { return l.errs.Load() }

// Find looks the socket of q up: ok is false when there is none (or
// none of the mode asked for), err when the kernel could not be asked.
func (l *Lookup) Find(q filter.SocketQuery) (s filter.Socket, ok bool, err error) {
	if q.Proto != packet.ProtoTCP && q.Proto != packet.ProtoUDP {
		return s, false, nil
	}
	st, inode, ok, err := l.ask(q, &s)
	if err != nil || !ok {
		return filter.Socket{}, false, err
	}
	if q.Proto == packet.ProtoTCP {
		switch q.Mode {
		case filter.SocketEstablished:
			if st == tcpListen {
				return filter.Socket{}, false, nil
			}
		case filter.SocketListener:
			if st != tcpListen {
				return filter.Socket{}, false, nil
			}
		}
		// A request socket is answered as SYN_RECV, a time-wait one in
		// its substate (TIME_WAIT or FIN_WAIT2); neither has an inode.
		switch {
		case st == tcpTimeWait, inode == 0 && st == tcpFinWait2:
			s.Full = false
		case st == tcpSynRecv && inode == 0:
			// A request socket is transparent when its listener was
			// (inet_rsk(req)->no_srccheck); sock_diag does not say so
			// for the request itself, so ask for the listener: a
			// lookup from no address finds no connection and falls
			// back to the listener on the local address and port.
			s.Full = false
			if s.Transparent, err = l.listenerTransparent(q); err != nil {
				return filter.Socket{}, false, err
			}
		default:
			s.Full = true
		}
	} else {
		s.Full = true
	}
	return s, true, nil
}

// listenerTransparent says whether the listener on q's local address
// and port has IP_TRANSPARENT: a lookup from no address finds no
// connection and falls back to the listener.
func (l *Lookup) listenerTransparent(q filter.SocketQuery) (bool, error) {
	q.Remote = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	if q.Local.Addr().Is4() || q.Local.Addr().Is4In6() {
		q.Remote = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	var s filter.Socket
	st, _, ok, err := l.ask(q, &s)
	return ok && st == tcpListen && s.Transparent, err
}

// ask sends one query on a pooled netlink socket.
func (l *Lookup) ask(q filter.SocketQuery, s *filter.Socket) (state uint8, inode uint32, ok bool, err error) {
	c, err := l.get()
	if err != nil {
		return 0, 0, false, err
	}
	state, inode, ok, err = c.query(q, s)
	l.put(c, err)
	return state, inode, ok, err
}

// Close closes the pooled sockets; queries after it fail.
func (l *Lookup) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, c := range l.free {
		unix.Close(c.fd)
	}
	l.free = nil
	return nil
}

func (l *Lookup) get() (*conn, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(l.free); n > 0 {
		c := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sockdiag: %w", err)
	}
	// A kernel that does not answer within a second fails the query
	// rather than holding the packet.
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sockdiag: %w", err)
	}
	// Connected to the kernel, so that queries are plain writes and
	// reads, which allocate nothing.
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sockdiag: %w", err)
	}
	return &conn{fd: fd}, nil
}

// put returns c to the pool, or closes it after a failure (its stream
// may hold a stale answer).
func (l *Lookup) put(c *conn, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || l.closed {
		unix.Close(c.fd)
		return
	}
	l.free = append(l.free, c)
}

// query sends one exact lookup and reads its answer into s: the
// socket's TCP state (0 for UDP) and inode, and ok false for no socket.
func (c *conn) query(q filter.SocketQuery, s *filter.Socket) (state uint8, inode uint32, ok bool, err error) {
	c.seq++
	b := c.req[:]
	clear(b)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(b[8:], c.seq)
	r := b[nlmsgHdrLen:]
	local, remote := q.Local, q.Remote
	family := uint8(unix.AF_INET)
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	r[0], r[1] = family, q.Proto
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	// The kernel's TCP lookup takes the socket's own end as the source;
	// UDP's takes it as the destination ("swapped for historical
	// reasons", udp_dump_one).
	src, dst := local, remote
	if q.Proto == packet.ProtoUDP {
		src, dst = remote, local
	}
	binary.BigEndian.PutUint16(id[0:], src.Port())
	binary.BigEndian.PutUint16(id[2:], dst.Port())
	putAddr(id[4:20], src.Addr())
	putAddr(id[20:36], dst.Addr())
	binary.NativeEndian.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], ^uint32(0))
	if _, err := unix.Write(c.fd, b); err != nil {
		return 0, 0, false, fmt.Errorf("sockdiag: send: %w", err)
	}
	for {
		n, err := unix.Read(c.fd, c.buf[:])
		if err != nil {
			return 0, 0, false, fmt.Errorf("sockdiag: receive: %w", err)
		}
		if n <= 0 {
			return 0, 0, false, errors.New("sockdiag: the kernel closed the socket")
		}
		for m := c.buf[:n]; len(m) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(m[0:]))
			if l < nlmsgHdrLen || l > len(m) {
				return 0, 0, false, errors.New("sockdiag: bad netlink message")
			}
			typ, seq := binary.NativeEndian.Uint16(m[4:]), binary.NativeEndian.Uint32(m[8:])
			body := m[nlmsgHdrLen:l]
			m = m[min((l+3)&^3, len(m)):]
			if seq != c.seq {
				continue // a late answer to an earlier query
			}
			switch typ {
			case unix.NLMSG_ERROR:
				if len(body) < 4 {
					return 0, 0, false, errors.New("sockdiag: short netlink error")
				}
				errno := -int32(binary.NativeEndian.Uint32(body))
				if errno == 0 || errno == int32(unix.ENOENT) {
					return 0, 0, false, nil
				}
				return 0, 0, false, fmt.Errorf("sockdiag: %w", unix.Errno(errno))
			case sockDiagByFamily:
				if len(body) < msgLen {
					return 0, 0, false, errors.New("sockdiag: short inet_diag_msg")
				}
				st, ino := parseMsg(body, q.Proto, s)
				return st, ino, true, nil
			case unix.NLMSG_DONE:
				return 0, 0, false, nil
			}
		}
	}
}

// parseMsg reads an inet_diag_msg and its attributes into s, and
// returns the socket's state and inode.
func parseMsg(body []byte, proto uint8, s *filter.Socket) (state uint8, inode uint32) {
	state = body[1]
	inode = binary.NativeEndian.Uint32(body[68:])
	if proto == packet.ProtoUDP {
		state = 0
	}
	// id.idiag_src, the socket's own address (both protocols answer with
	// the socket's view).
	s.Wildcard = isZero(body[4+4 : 4+20])
	for a := body[msgLen:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		typ := binary.NativeEndian.Uint16(a[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < 4 || l > len(a) {
			break
		}
		v := a[4:l]
		switch typ {
		case attrMark:
			if len(v) >= 4 {
				s.Mark = binary.NativeEndian.Uint32(v)
			}
		case attrSockopt:
			if len(v) >= 1 {
				s.Transparent = v[0]&sockoptTransp != 0
			}
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return state, inode
}

func putAddr(b []byte, a netip.Addr) {
	if a.Is4() || a.Is4In6() {
		v := a.Unmap().As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
