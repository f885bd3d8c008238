package daemon

import (
	"fmt"

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
