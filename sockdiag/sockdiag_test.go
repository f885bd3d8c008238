package sockdiag

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// sock opens a socket bound to addr, with IP_TRANSPARENT and SO_MARK as
// asked, listening if it is TCP.
func sock(t *testing.T, proto uint8, addr netip.AddrPort, transparent bool, mark int) int {
	t.Helper()
	domain, typ := unix.AF_INET, unix.SOCK_STREAM
	if addr.Addr().Is6() {
		domain = unix.AF_INET6
	}
	if proto == packet.ProtoUDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if transparent {
		level, opt := unix.SOL_IP, unix.IP_TRANSPARENT
		if domain == unix.AF_INET6 {
			level, opt = unix.SOL_IPV6, unix.IPV6_TRANSPARENT
		}
		if err := unix.SetsockoptInt(fd, level, opt, 1); err != nil {
			t.Fatal(err)
		}
	}
	if mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, mark); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		t.Fatal(err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, 8); err != nil {
			t.Fatal(err)
		}
	}
	return fd
}

func sockaddr(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: a.Addr().As4(), Port: int(a.Port())}
	}
	return &unix.SockaddrInet6{Addr: a.Addr().As16(), Port: int(a.Port())}
}

// TestLookupFindsTheKernelsSockets opens sockets in a namespace and asks
// for them as -m socket and TPROXY ask: each answer must be what the
// kernel holds (the socket's state, wildcard bind, IP_TRANSPARENT and
// SO_MARK), and a port without a socket must find none.
func TestLookupFindsTheKernelsSockets(t *testing.T) {
	kernel.Require(t, "ip")
	ns := kernel.NewNetns(t, "sockdiag")
	ap := netip.MustParseAddrPort
	var l Lookup
	defer l.Close()
	err := ns.Do(func() error {
		sock(t, packet.ProtoTCP, ap("0.0.0.0:8080"), true, 7)
		srv := sock(t, packet.ProtoTCP, ap("127.0.0.1:8081"), false, 0)
		sock(t, packet.ProtoUDP, ap("0.0.0.0:5353"), true, 0)
		sock(t, packet.ProtoTCP, ap("[::1]:9090"), false, 3)
		// An established connection to the 8081 listener.
		cli, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(cli)
		if err := unix.Connect(cli, sockaddr(ap("127.0.0.1:8081"))); err != nil {
			return err
		}
		acc, _, err := unix.Accept(srv)
		if err != nil {
			return err
		}
		defer unix.Close(acc)
		sa, err := unix.Getsockname(cli)
		if err != nil {
			return err
		}
		cliPort := uint16(sa.(*unix.SockaddrInet4).Port)
		// A second connection, closed by the client first, leaves the
		// client's end in TIME_WAIT.
		tw, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(tw, sockaddr(ap("127.0.0.1:8081"))); err != nil {
			return err
		}
		acc2, _, err := unix.Accept(srv)
		if err != nil {
			return err
		}
		sa, err = unix.Getsockname(tw)
		if err != nil {
			return err
		}
		twPort := uint16(sa.(*unix.SockaddrInet4).Port)
		unix.Close(tw)
		time.Sleep(20 * time.Millisecond)
		unix.Close(acc2)
		time.Sleep(50 * time.Millisecond)
		// A transparent listener that defers accepting keeps the
		// handshake of a client that sends nothing as a request socket.
		ls := sock(t, packet.ProtoTCP, ap("127.0.0.1:8083"), true, 0)
		if err := unix.SetsockoptInt(ls, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 10); err != nil {
			return err
		}
		req, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(req)
		if err := unix.Connect(req, sockaddr(ap("127.0.0.1:8083"))); err != nil {
			return err
		}
		sa, err = unix.Getsockname(req)
		if err != nil {
			return err
		}
		reqPort := uint16(sa.(*unix.SockaddrInet4).Port)
		// A connection accepted by the transparent listener on 8080.
		tc, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(tc)
		if err := unix.Connect(tc, sockaddr(ap("127.0.0.1:8080"))); err != nil {
			return err
		}
		sa, err = unix.Getsockname(tc)
		if err != nil {
			return err
		}
		tcPort := uint16(sa.(*unix.SockaddrInet4).Port)
		time.Sleep(20 * time.Millisecond)
		tests := []struct {
			name string
			q    filter.SocketQuery
			ok   bool
			want filter.Socket
		}{
			{"wildcard transparent listener", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: ap("10.9.9.9:1234"), Local: ap("192.0.2.1:8080")},
				true, filter.Socket{Wildcard: true, Transparent: true, Full: true, Mark: 7}},
			{"a listener is not established", filter.SocketQuery{Mode: filter.SocketEstablished, Proto: packet.ProtoTCP, Remote: ap("10.9.9.9:1234"), Local: ap("192.0.2.1:8080")},
				false, filter.Socket{}},
			{"the accepted connection", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: netip.AddrPortFrom(ap("127.0.0.1:1").Addr(), cliPort), Local: ap("127.0.0.1:8081")},
				true, filter.Socket{Full: true}},
			{"the connection is not a listener", filter.SocketQuery{Mode: filter.SocketListener, Proto: packet.ProtoTCP, Remote: netip.AddrPortFrom(ap("127.0.0.1:1").Addr(), cliPort), Local: ap("127.0.0.1:8081")},
				false, filter.Socket{}},
			{"another client finds the listener", filter.SocketQuery{Mode: filter.SocketListener, Proto: packet.ProtoTCP, Remote: ap("127.0.0.1:4444"), Local: ap("127.0.0.1:8081")},
				true, filter.Socket{Full: true}},
			{"time-wait is not a full socket", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: ap("127.0.0.1:8081"), Local: netip.AddrPortFrom(ap("127.0.0.1:1").Addr(), twPort)},
				true, filter.Socket{}},
			{"a request socket, transparent as its listener", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: netip.AddrPortFrom(ap("127.0.0.1:1").Addr(), reqPort), Local: ap("127.0.0.1:8083")},
				true, filter.Socket{Transparent: true}},
			{"a connection of a transparent listener, not yet accepted", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: netip.AddrPortFrom(ap("127.0.0.1:1").Addr(), tcPort), Local: ap("127.0.0.1:8080")},
				true, filter.Socket{Transparent: true, Full: true, Mark: 7}},
			{"no socket on the port", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: ap("10.9.9.9:1234"), Local: ap("192.0.2.1:8082")},
				false, filter.Socket{}},
			{"UDP", filter.SocketQuery{Proto: packet.ProtoUDP, Remote: ap("10.9.9.9:999"), Local: ap("192.0.2.1:5353")},
				true, filter.Socket{Wildcard: true, Transparent: true, Full: true}},
			{"UDP, no socket", filter.SocketQuery{Proto: packet.ProtoUDP, Remote: ap("10.9.9.9:999"), Local: ap("192.0.2.1:5354")},
				false, filter.Socket{}},
			{"IPv6", filter.SocketQuery{Proto: packet.ProtoTCP, Remote: ap("[::1]:5555"), Local: ap("[::1]:9090")},
				true, filter.Socket{Full: true, Mark: 3}},
		}
		for _, tt := range tests {
			got, ok, err := l.Find(tt.q)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if ok != tt.ok || got != tt.want {
				t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
			}
		}
		// Warm, a lookup allocates nothing.
		q := tests[0].q
		if n := testing.AllocsPerRun(100, func() { l.LookupSocket(q) }); n != 0 {
			t.Errorf("a lookup allocates %v times", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := l.Errors(); n != 0 {
		t.Errorf("%d queries failed", n)
	}
}
