package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// injector sends the packets the rules generate (REJECT's TCP resets and
// ICMP errors) into the namespace's stack through raw sockets, as the
// kernel's REJECT sends them with ip_local_out: they pass OUTPUT and
// POSTROUTING like any packet the host sends.
type injector struct {
	fd4, fd6 int
}

func newInjector() (injector, error) {
	fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return injector{}, fmt.Errorf("raw socket for generated packets: %w", err)
	}
	fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		unix.Close(fd4)
		return injector{}, fmt.Errorf("raw IPv6 socket for generated packets: %w", err)
	}
	return injector{fd4: fd4, fd6: fd6}, nil
}

func (in *injector) close() {
	unix.Close(in.fd4)
	unix.Close(in.fd6)
}

// send injects one IP packet, addressed by its own header.
func (in *injector) send(b []byte) error {
	if len(b) < 20 {
		return fmt.Errorf("generated packet of %d bytes", len(b))
	}
	switch b[0] >> 4 {
	case 4:
		var sa unix.SockaddrInet4
		copy(sa.Addr[:], b[16:20])
		return unix.Sendto(in.fd4, b, 0, &sa)
	case 6:
		if len(b) < 40 {
			return fmt.Errorf("generated IPv6 packet of %d bytes", len(b))
		}
		var sa unix.SockaddrInet6
		copy(sa.Addr[:], b[24:40])
		return unix.Sendto(in.fd6, b, 0, &sa)
	}
	return fmt.Errorf("generated packet of IP version %d", b[0]>>4)
}

// errNoInterface is tee's error for an --oif the host does not have.
var errNoInterface = errors.New("no such interface")

// tee sends a TEE copy to its gateway, out of interface oif when it is
// not 0. The raw sockets take the packet's header as it is and route
// by the address the packet is sent to, so the copy keeps its own
// destination and is routed to the gateway, as nf_dup_ipv4 and
// nf_dup_ipv6 route it (for a gateway on a local subnet; the kernel's
// "known next hop" also reaches one behind another router's route as
// if it were on the link). Like the kernel's copy it passes OUTPUT and
// POSTROUTING; unlike it, it is not marked untracked, and a raw socket
// gives an IPv4 ID of 0 a fresh one.
func (in *injector) tee(b []byte, gw netip.Addr, oif int) error {
	if len(b) < 20 {
		return fmt.Errorf("TEE copy of %d bytes", len(b))
	}
	switch {
	case b[0]>>4 == 4 && gw.Is4():
		sa := &unix.SockaddrInet4{Addr: gw.As4()}
		if oif == 0 {
			return unix.Sendto(in.fd4, b, 0, sa)
		}
		var info unix.Inet4Pktinfo
		info.Ifindex = int32(oif)
		return unix.Sendmsg(in.fd4, b, cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, unsafe.Pointer(&info), unix.SizeofInet4Pktinfo), sa, 0)
	case b[0]>>4 == 6 && gw.Is6():
		sa := &unix.SockaddrInet6{Addr: gw.As16()}
		if oif == 0 {
			return unix.Sendto(in.fd6, b, 0, sa)
		}
		var info unix.Inet6Pktinfo
		info.Ifindex = uint32(oif)
		return unix.Sendmsg(in.fd6, b, cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unsafe.Pointer(&info), unix.SizeofInet6Pktinfo), sa, 0)
	}
	return fmt.Errorf("TEE copy of IP version %d to gateway %v", b[0]>>4, gw)
}

// cmsg builds one control message of n bytes at p.
func cmsg(level, typ int32, p unsafe.Pointer, n int) []byte {
	b := make([]byte, unix.CmsgSpace(n))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(n))
	copy(b[unix.CmsgLen(0):], unsafe.Slice((*byte)(p), n))
	return b
}
