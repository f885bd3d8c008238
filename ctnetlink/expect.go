package ctnetlink

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// The expectation subsystem (NFNL_SUBSYS_CTNETLINK_EXP) and its CTA_EXPECT_*
// attributes.
const (
	subsysExp = 2
	msgExpNew = 0 // IPCTNL_MSG_EXP_NEW
	msgExpGet = 1 // IPCTNL_MSG_EXP_GET

	ctaExpectMaster   = 1
	ctaExpectTuple    = 2
	ctaExpectMask     = 3
	ctaExpectTimeout  = 4
	ctaExpectHelpName = 6
	ctaExpectZone     = 7
	ctaExpectFlags    = 8
	ctaExpectClass    = 9
	ctaExpectNAT      = 10
	ctaExpectFn       = 11
	ctaExpectNATDir   = 1
	ctaExpectNATTuple = 2
)

// ExpectEntry is an expectation as the kernel lists it: the expectation,
// and the name of its master's helper (CTA_EXPECT_HELP_NAME), which
// AdoptExpectation resolves with conntrack.Table.HelperNamed.
type ExpectEntry struct {
	Expectation conntrack.Expectation
	Helper      string
}

// DecodeExpectation reads an expectation message's body (after the
// netlink header). The master's reply tuple is not in the message; the
// table finds it from the master (conntrack.Table.AdoptExpectation).
func DecodeExpectation(body []byte) (ExpectEntry, error) {
	var en ExpectEntry
	e := &en.Expectation
	if len(body) < nfgenHdrLen {
		return en, fmt.Errorf("%w: %d bytes", ErrMalformed, len(body))
	}
	var mask conntrack.Tuple
	var haveMask bool
	var zone uint16
	err := each(body[nfgenHdrLen:], func(typ uint16, d []byte) error {
		var err error
		switch typ {
		case ctaExpectMaster:
			e.Master, err = decodeTuple(d)
		case ctaExpectTuple:
			e.Tuple, err = decodeTuple(d)
		case ctaExpectMask:
			mask, err = decodeTuple(d)
			haveMask = true
		case ctaExpectTimeout:
			var s uint32
			s, err = be32(d)
			e.Timeout = secs(s)
		case ctaExpectHelpName:
			en.Helper = cString(d)
		case ctaExpectZone:
			zone, err = be16(d)
		case ctaExpectFlags:
			var f uint32
			f, err = be32(d)
			e.Flags = conntrack.ExpectFlags(f)
		case ctaExpectClass:
			var c uint32
			c, err = be32(d)
			e.Class = uint8(c)
		case ctaExpectFn:
			e.Fn = cString(d)
		case ctaExpectNAT:
			err = each(d, func(typ uint16, d []byte) error {
				switch typ {
				case ctaExpectNATDir:
					dir, err := be32(d)
					e.Dir = conntrack.Dir(dir & 1)
					return err
				case ctaExpectNATTuple:
					// The kernel keeps the NAT part in the source
					// half of a tuple (saved_addr, saved_proto).
					t, err := decodeTuple(d)
					e.SavedAddr, e.SavedPort = t.Src, t.SrcPort
					return err
				}
				return nil
			})
		}
		return err
	})
	if err != nil {
		return en, err
	}
	if e.Tuple.Family == 0 || e.Master.Family != e.Tuple.Family {
		return en, fmt.Errorf("%w: no tuples", ErrMalformed)
	}
	if haveMask {
		if p := e.Tuple.Proto; !hasPorts(p) && p != packet.ProtoICMP && p != packet.ProtoICMPv6 {
			// No ports to mask.
			mask.SrcPort = 0xffff
		}
		e.SetKernelMask(mask.Src, mask.SrcPort)
	}
	e.Tuple.Zone, e.Master.Zone = zone, zone
	return en, nil
}

// AppendCreateExpectation appends the IPCTNL_MSG_EXP_NEW request that
// creates e in the kernel, asking for an acknowledgement. Its master
// must be there already, with a helper (CTA_HELP): the kernel refuses an
// expectation of a connection without one (EOPNOTSUPP).
func AppendCreateExpectation(b []byte, seq uint32, e *conntrack.Expectation) []byte {
	w := builder{b: b}
	w.beginIn(subsysExp, msgExpNew, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK, seq, uint8(familyAF(e.Tuple.Family)))
	w.tuple(ctaExpectMaster, &e.Master)
	w.tuple(ctaExpectTuple, &e.Tuple)
	// The mask is a tuple of the expectation's family and protocol (the
	// kernel refuses another), with the destination compared in full.
	src, srcPort := e.KernelMask()
	mask := conntrack.Tuple{Family: e.Tuple.Family, Proto: e.Tuple.Proto, Src: src, SrcPort: srcPort, DstPort: 0xffff}
	for i := range mask.Dst {
		mask.Dst[i] = 0xff
	}
	w.tuple(ctaExpectMask, &mask)
	w.be32(ctaExpectTimeout, uint32(max(1, (e.Timeout+time.Second-1)/time.Second)))
	if z := e.Master.Zone; z != 0 {
		w.be16(ctaExpectZone, z)
	}
	w.be32(ctaExpectFlags, uint32(e.Flags&^conntrack.ExpectUserspace))
	w.be32(ctaExpectClass, uint32(e.Class))
	if e.Helper != nil {
		w.attr(ctaExpectHelpName, append([]byte(e.Helper.Name()), 0))
	}
	if e.SavedAddr != ([16]byte{}) || e.SavedPort != 0 {
		w.open(ctaExpectNAT)
		w.be32(ctaExpectNATDir, uint32(e.Dir))
		nat := conntrack.Tuple{Family: e.Tuple.Family, Proto: e.Master.Proto, Src: e.SavedAddr, SrcPort: e.SavedPort}
		w.tuple(ctaExpectNATTuple, &nat)
		w.close()
	}
	if e.Fn != "" {
		// The kernel knows the function by this name only while the
		// module that registers it (nf_nat) is loaded.
		w.attr(ctaExpectFn, append([]byte(e.Fn), 0))
	}
	return w.end()
}

// DumpExpectations returns every expectation of the kernel's table.
func (s *Socket) DumpExpectations() ([]ExpectEntry, error) {
	return dump(s, subsysExp, msgExpGet, msgExpNew, "expectation dump", DecodeExpectation)
}

// CreateExpectation writes e into the kernel's table (see
// AppendCreateExpectation). An expectation the kernel already has for
// the same tuple is left as it is.
func (s *Socket) CreateExpectation(e *conntrack.Expectation) error {
	s.seq++
	s.req = AppendCreateExpectation(s.req[:0], s.seq, e)
	err := s.send(s.req)
	if err == nil {
		err = s.messages(s.seq, nil)
	}
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ctnetlink: creating expectation %v (master %v): %w", e.Tuple, e.Master, err)
	}
	return nil
}
