package ctnetlink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
)

// Socket is a ctnetlink request socket in the caller's network
// namespace. It is not safe for concurrent use.
type Socket struct {
	fd  int
	seq uint32
	buf []byte
	req []byte
}

// open opens a NETLINK_NETFILTER socket joined to groups.
func open(groups uint32, rcvbuf int) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return -1, fmt.Errorf("ctnetlink: %w", err)
	}
	if rcvbuf > 0 {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ctnetlink: bind: %w", err)
	}
	return fd, nil
}

// Open opens a request socket.
func Open() (*Socket, error) {
	fd, err := open(0, 0)
	if err != nil {
		return nil, err
	}
	// No answer in this long is an error, not a hang.
	tv := unix.NsecToTimeval(int64(answerWait))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ctnetlink: %w", err)
	}
	return &Socket{fd: fd, buf: make([]byte, 1<<16)}, nil
}

// answerWait bounds the wait for each part of an answer.
const answerWait = 5 * time.Second

// Close closes the socket.
func (s *Socket) Close() error { return unix.Close(s.fd) }

func (s *Socket) send(msg []byte) error {
	return unix.Sendto(s.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// messages reads the answers to request seq, calling fn with each
// conntrack or expectation message's type (subsystem and message) and
// body, until the acknowledgement (nil or
// the request's error) or the end of a dump.
func (s *Socket) messages(seq uint32, fn func(typ uint16, body []byte) error) error {
	for {
		n, _, err := unix.Recvfrom(s.fd, s.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				return fmt.Errorf("ctnetlink: no answer from the kernel in %v", answerWait)
			}
			return fmt.Errorf("ctnetlink: receiving: %w", err)
		}
		for b := s.buf[:n]; len(b) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nlmsgHdrLen || l > len(b) {
				return fmt.Errorf("%w: netlink length %d of %d", ErrMalformed, l, len(b))
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			mseq := binary.NativeEndian.Uint32(b[8:])
			body := b[nlmsgHdrLen:l]
			if al := (l + 3) &^ 3; al < len(b) {
				b = b[al:]
			} else {
				b = nil
			}
			if mseq != seq {
				continue
			}
			switch typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(body) < 4 {
					return fmt.Errorf("%w: short NLMSG_ERROR", ErrMalformed)
				}
				if e := int32(binary.NativeEndian.Uint32(body)); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
			if (typ>>8 == subsysCT || typ>>8 == subsysExp) && fn != nil {
				if err := fn(typ, body); err != nil {
					return err
				}
			}
		}
	}
}

// Dump returns every connection of the kernel's table (both families).
// A dump is not a point-in-time snapshot: connections that change while
// it runs may be seen either way.
func (s *Socket) Dump() ([]Entry, error) {
	return dump(s, subsysCT, msgGet, msgNew, "dump", Decode)
}

// dump runs a dump request of a subsystem and decodes each answer of
// type subsys/msg; entries that do not decode are counted and reported
// as ErrMalformed beside the rest.
func dump[T any](s *Socket, subsys uint8, get, msg uint16, what string, decode func([]byte) (T, error)) ([]T, error) {
	s.seq++
	w := builder{b: s.req}
	w.beginIn(subsys, get, unix.NLM_F_DUMP, s.seq, unix.AF_UNSPEC)
	s.req = w.end()
	if err := s.send(s.req); err != nil {
		return nil, fmt.Errorf("ctnetlink: %s: %w", what, err)
	}
	var out []T
	var bad int
	err := s.messages(s.seq, func(typ uint16, body []byte) error {
		if typ != uint16(subsys)<<8|msg {
			return nil
		}
		v, err := decode(body)
		if err != nil {
			bad++
			return nil
		}
		out = append(out, v)
		return nil
	})
	if err == nil && bad > 0 {
		err = fmt.Errorf("ctnetlink: %s: %d entries unreadable: %w", what, bad, ErrMalformed)
	}
	return out, err
}

// Create writes c into the kernel's table (see the package comment). A
// connection the kernel already has under c.Orig is replaced, as
// conntrackd's commit replaces it.
func (s *Socket) Create(c *conntrack.Conn) error {
	err := s.create(c)
	if errors.Is(err, unix.EEXIST) {
		if err = s.Delete(&c.Orig); err == nil || errors.Is(err, unix.ENOENT) {
			err = s.create(c)
		}
	}
	if err != nil {
		return fmt.Errorf("ctnetlink: creating %v: %w", c.Orig, err)
	}
	return nil
}

func (s *Socket) create(c *conntrack.Conn) error {
	s.seq++
	req, err := AppendCreate(s.req[:0], s.seq, c)
	if err != nil {
		return err
	}
	s.req = req
	if err := s.send(req); err != nil {
		return err
	}
	return s.messages(s.seq, nil)
}

// Delete removes the kernel's connection whose original tuple is orig.
func (s *Socket) Delete(orig *conntrack.Tuple) error {
	s.seq++
	s.req = AppendDelete(s.req[:0], s.seq, orig)
	if err := s.send(s.req); err != nil {
		return err
	}
	return s.messages(s.seq, nil)
}

// EventType is the kind of a kernel conntrack event.
type EventType uint8

// The event types.
const (
	EventNew EventType = iota + 1
	EventUpdate
	EventDestroy
)

// Event is a change of the kernel's table.
type Event struct {
	Type EventType
	Entry
}

// ErrEventsLost is Events.Read's error when the kernel dropped events
// because the socket's buffer was full (ENOBUFS): a new dump is needed.
var ErrEventsLost = errors.New("ctnetlink: events lost (the socket buffer overflowed)")

// Events is a subscription to the kernel's conntrack events
// (NFNLGRP_CONNTRACK_NEW, _UPDATE and _DESTROY). The kernel sends them
// only while net.netfilter.nf_conntrack_events allows: with 2, its
// default, connections created before the first listener send none, so
// EnableEvents should run before the connections to be followed exist.
type Events struct {
	fd  int
	buf []byte
}

// Subscribe opens an event subscription with a receive buffer of
// rcvbuf bytes (0: the system's default).
func Subscribe(rcvbuf int) (*Events, error) {
	fd, err := open(1<<0|1<<1|1<<2, rcvbuf)
	if err != nil {
		return nil, err
	}
	// Read waits at most this long, so that its caller can stop.
	tv := unix.NsecToTimeval(int64(readWait))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ctnetlink: %w", err)
	}
	return &Events{fd: fd, buf: make([]byte, 1<<16)}, nil
}

// readWait bounds how long Read blocks.
const readWait = 200 * time.Millisecond

// Close ends the subscription. It must not be called during a Read.
func (e *Events) Close() error { return unix.Close(e.fd) }

// Read waits (at most 200 ms) for the next datagram of events and
// appends them to dst; it returns dst unchanged when none came.
// Messages it cannot read are skipped.
func (e *Events) Read(dst []Event) ([]Event, error) {
	n, _, err := unix.Recvfrom(e.fd, e.buf, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return dst, nil
		case errors.Is(err, unix.ENOBUFS):
			return dst, ErrEventsLost
		}
		return dst, fmt.Errorf("ctnetlink: events: %w", err)
	}
	for b := e.buf[:n]; len(b) >= nlmsgHdrLen; {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			break
		}
		typ := binary.NativeEndian.Uint16(b[4:])
		flags := binary.NativeEndian.Uint16(b[6:])
		body := b[nlmsgHdrLen:l]
		if al := (l + 3) &^ 3; al < len(b) {
			b = b[al:]
		} else {
			b = nil
		}
		if typ>>8 != subsysCT {
			continue
		}
		en, err := Decode(body)
		if err != nil {
			continue
		}
		ev := Event{Type: EventUpdate, Entry: en}
		switch {
		case typ&0xff == msgDelete:
			ev.Type = EventDestroy
		case flags&(unix.NLM_F_CREATE|unix.NLM_F_EXCL) != 0:
			ev.Type = EventNew
		}
		dst = append(dst, ev)
	}
	return dst, nil
}

// EnableEvents sets net.netfilter.nf_conntrack_events to 1 in the
// caller's namespace, so that every connection reports its changes,
// also one created before any listener existed. It returns the value
// it replaced.
func EnableEvents() (old string, err error) {
	const path = "/proc/sys/net/netfilter/nf_conntrack_events"
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ctnetlink: %w", err)
	}
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		return "", fmt.Errorf("ctnetlink: %w", err)
	}
	return string(b[:len(b)-min(len(b), 1)]), nil
}
