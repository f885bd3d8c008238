package ctsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// PeerConfig configures a Peer.
type PeerConfig struct {
	Session SessionConfig
	// Local is the address and port to listen on (conntrackd's UDP
	// IPv4_address or IPv6_address, and Port); messages are sent from it.
	Local netip.AddrPort
	// Remote is the peer (IPv4_Destination_Address or
	// IPv6_Destination_Address, and Port). Datagrams from any other
	// address are dropped and counted, which conntrackd does not do.
	Remote netip.AddrPort
	// Interface, if set, binds the socket to the sync interface
	// (SO_BINDTODEVICE), so that nothing from another link reaches it.
	Interface string
	// RcvBuffer and SndBuffer size the socket's buffers
	// (conntrackd's RcvSocketBuffer and SndSocketBuffer; 0 leaves the
	// system's). As conntrackd does, they are forced past the system's
	// maximum when the process may (SO_RCVBUFFORCE).
	RcvBuffer, SndBuffer int
	// Multicast makes Remote a multicast group (conntrackd's Multicast
	// IPv4_address or IPv6_address, and Group): the peer joins it on
	// Interface and receives what is sent to it, and sends to it from
	// Local (IPv4_interface; its port is not used). The configuration
	// names no peer, so the first source heard from is taken as the
	// peer and datagrams from any other are dropped and counted.
	Multicast bool
	// NoChecksum turns the UDP checksum off (conntrackd's "Checksum
	// off", SO_NO_CHECK).
	NoChecksum bool
	// Apply is called, from the receiving goroutine, with the
	// connection messages of each datagram.
	Apply func([]Received)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Peer runs a Session over UDP: it sends what is enqueued, keeps the
// link alive, answers the peer's control messages and hands received
// connections to Apply.
//
// Peer.mu guards the session and is the only lock. Apply and the
// session's Resync callback run without it held, so both may call
// Enqueue.
type Peer struct {
	cfg  PeerConfig
	conn *net.UDPConn // receives, and sends unless tx is set
	tx   *net.UDPConn // multicast: the sending socket
	dst  *net.UDPAddr
	// source is the peer's address, for multicast the first heard;
	// only the receiving goroutine uses it.
	source netip.Addr

	mu   sync.Mutex // guards sess
	sess *Session

	wake chan struct{}
	// resync is set, under mu, when the peer asked for a full dump;
	// the receiving goroutine then calls the configured Resync.
	resync   bool
	onResync func()
	foreign  atomic.Uint64
	sendErr  atomic.Uint64
	recvErr  atomic.Uint64
	traffic  struct{ bytesSent, bytesRecv, sent, recv atomic.Uint64 }
}

// PeerStats are a peer's counters.
type PeerStats struct {
	SessionStats
	// Foreign counts datagrams from an address other than the peer's,
	// dropped.
	Foreign uint64
	// SendErrors counts datagrams the socket refused; RecvErrors counts
	// failed receives that the peer survived.
	SendErrors, RecvErrors uint64
	// Sent and Received count the peer's datagrams, BytesSent and
	// BytesReceived their UDP payload bytes (conntrackd's channel
	// statistics); foreign datagrams are not counted here.
	Sent, Received, BytesSent, BytesReceived uint64
}

// ListenPeer opens the peer's socket (two for multicast: one bound to
// the group, one to send from).
func ListenPeer(cfg PeerConfig) (*Peer, error) {
	if !cfg.Local.IsValid() || !cfg.Remote.IsValid() {
		return nil, errors.New("ctsync: a peer needs a local and a remote address")
	}
	if cfg.Multicast && !cfg.Remote.Addr().IsMulticast() {
		return nil, fmt.Errorf("ctsync: %v is not a multicast group", cfg.Remote.Addr())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	bind := cfg.Local
	if cfg.Multicast {
		bind = cfg.Remote
	}
	conn, err := listenUDP(&cfg, bind, cfg.Multicast)
	if err != nil {
		return nil, err
	}
	p := &Peer{cfg: cfg, conn: conn, dst: net.UDPAddrFromAddrPort(cfg.Remote), wake: make(chan struct{}, 1)}
	if cfg.Multicast {
		if p.tx, err = listenUDP(&cfg, netip.AddrPortFrom(cfg.Local.Addr(), 0), false); err == nil {
			err = p.multicastSender()
		}
		if err != nil {
			conn.Close()
			if p.tx != nil {
				p.tx.Close()
			}
			return nil, err
		}
	} else {
		p.source = cfg.Remote.Addr().Unmap()
	}
	p.onResync = cfg.Session.Resync
	sc := cfg.Session
	sc.Resync = func() { p.resync = true }
	p.sess = NewSession(sc, cfg.Now())
	return p, nil
}

// multicastSender sets the sending socket's interface and keeps its
// datagrams from looping back.
func (p *Peer) multicastSender() error {
	rc, err := p.tx.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		ifi, ierr := net.InterfaceByName(p.cfg.Interface)
		if p.cfg.Remote.Addr().Is6() {
			if ierr != nil {
				serr = fmt.Errorf("ctsync: multicast interface %q: %w", p.cfg.Interface, ierr)
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)
			}
			return
		}
		mreq := &unix.IPMreqn{Address: p.cfg.Local.Addr().As4()}
		if ierr == nil {
			mreq.Ifindex = int32(ifi.Index)
		}
		if serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq); serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0)
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("ctsync: multicast sender: %w", serr)
	}
	return nil
}

// listenUDP opens a UDP socket bound to addr with the configured
// options; join makes it a member of addr's multicast group on the
// interface.
func listenUDP(cfg *PeerConfig, addr netip.AddrPort, join bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil && cfg.Interface != "" {
				serr = syscall.BindToDevice(int(fd), cfg.Interface)
			}
			for _, b := range [...]struct{ force, plain, size int }{
				{syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF, cfg.RcvBuffer},
				{syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF, cfg.SndBuffer},
			} {
				if serr == nil && b.size > 0 {
					if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, b.force, b.size) != nil {
						serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, b.plain, b.size)
					}
				}
			}
			if serr == nil && cfg.NoChecksum {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
			}
			if serr == nil && join {
				serr = joinGroup(int(fd), cfg)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	pc, err := lc.ListenPacket(context.Background(), network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("ctsync: listening on %v: %w", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// joinGroup makes the socket a member of the configured group, on the
// interface (by name, or for IPv4 by its address Local).
func joinGroup(fd int, cfg *PeerConfig) error {
	ifi, ierr := net.InterfaceByName(cfg.Interface)
	group := cfg.Remote.Addr()
	if group.Is6() {
		if ierr != nil {
			return fmt.Errorf("ctsync: multicast interface %q: %w", cfg.Interface, ierr)
		}
		return unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifi.Index)})
	}
	mreq := &unix.IPMreqn{Multiaddr: group.As4(), Address: cfg.Local.Addr().As4()}
	if ierr == nil {
		mreq.Ifindex = int32(ifi.Index)
	}
	return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
}

// Enqueue queues a connection's change for the peer (see
// Session.Enqueue). It does not block on the network.
func (p *Peer) Enqueue(typ MsgType, c *Conn) { p.enqueue(typ, c, true) }

// enqueue is Enqueue; without wake, the sender is not woken, so that a
// burst of changes goes out in full datagrams once the last is queued.
func (p *Peer) enqueue(typ MsgType, c *Conn, wake bool) {
	p.mu.Lock()
	p.sess.Enqueue(typ, c)
	p.mu.Unlock()
	if wake {
		p.poke()
	}
}

// EnqueueExp queues an expectation's change for the peer (see
// Session.EnqueueExp).
func (p *Peer) EnqueueExp(typ MsgType, x *Exp) {
	p.mu.Lock()
	p.sess.EnqueueExp(typ, x)
	p.mu.Unlock()
	p.poke()
}

// RequestResync asks the peer for a full dump.
func (p *Peer) RequestResync() {
	p.mu.Lock()
	p.sess.RequestResync()
	p.mu.Unlock()
	p.poke()
}

func (p *Peer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Stats returns the peer's counters.
func (p *Peer) Stats() PeerStats {
	p.mu.Lock()
	st := p.sess.Stats()
	p.mu.Unlock()
	return PeerStats{
		SessionStats: st, Foreign: p.foreign.Load(), SendErrors: p.sendErr.Load(), RecvErrors: p.recvErr.Load(),
		Sent: p.traffic.sent.Load(), Received: p.traffic.recv.Load(),
		BytesSent: p.traffic.bytesSent.Load(), BytesReceived: p.traffic.bytesRecv.Load(),
	}
}

// Run sends and receives until ctx ends or the socket fails, then
// closes the socket.
func (p *Peer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- p.receive() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.flush()
			p.close()
			<-errc
			return nil
		case err := <-errc:
			p.close()
			return err
		case <-tick.C:
			p.mu.Lock()
			p.sess.Tick(p.cfg.Now())
			p.mu.Unlock()
			p.flush()
		case <-p.wake:
			p.flush()
		}
	}
}

// flush sends what the session has queued.
func (p *Peer) flush() {
	p.mu.Lock()
	if !p.sess.Pending() {
		p.mu.Unlock()
		return
	}
	dgrams := p.sess.Flush(nil, p.cfg.Now())
	p.mu.Unlock()
	tx := p.conn
	if p.tx != nil {
		tx = p.tx
	}
	for _, d := range dgrams {
		if _, err := tx.WriteToUDP(d, p.dst); err != nil {
			p.sendErr.Add(1)
			continue
		}
		p.traffic.sent.Add(1)
		p.traffic.bytesSent.Add(uint64(len(d)))
	}
}

// receive reads datagrams until the socket is closed.
func (p *Peer) receive() error {
	buf := make([]byte, 65536)
	var got []Received
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				p.recvErr.Add(1)
				continue // an earlier send found no listener
			}
			return fmt.Errorf("ctsync: receiving: %w", err)
		}
		if src := from.Addr().Unmap(); src != p.source {
			if p.source.IsValid() || !p.cfg.Multicast {
				p.foreign.Add(1)
				continue
			}
			p.source = src // multicast: the first heard is the peer
		}
		p.traffic.recv.Add(1)
		p.traffic.bytesRecv.Add(uint64(n))
		p.mu.Lock()
		got = p.sess.Receive(got[:0], buf[:n])
		pending, resync := p.sess.Pending(), p.resync
		p.resync = false
		p.mu.Unlock()
		if len(got) > 0 && p.cfg.Apply != nil {
			p.cfg.Apply(got)
		}
		if resync && p.onResync != nil {
			p.onResync()
		}
		if pending {
			p.poke()
		}
	}
}

// close closes the sockets.
func (p *Peer) close() {
	p.conn.Close()
	if p.tx != nil {
		p.tx.Close()
	}
}

// LocalAddr returns the address the peer listens on.
func (p *Peer) LocalAddr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetRemote changes the peer's address. It must be called before Run,
// and not for multicast.
func (p *Peer) SetRemote(a netip.AddrPort) {
	p.cfg.Remote = a
	p.dst = net.UDPAddrFromAddrPort(a)
	p.source = a.Addr().Unmap()
}
