package helpers

import (
	"errors"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/nat"
)

// The NAT side of the helpers (nf_nat_helper.c and the nf_nat_*.c
// helpers' common parts): rewriting a payload, finding a port to
// expect, and the functions that NAT an expected connection when it
// arrives.

// mangleTCP replaces n bytes at offset off of the TCP payload with rep,
// as __nf_nat_mangle_tcp_packet does, and records the change of length
// for sequence adjustment (nf_ct_seqadj_set) from the packet's sequence
// number, as it was before any adjustment.
func (c *Call) mangleTCP(off, n int, rep []byte) bool {
	seq := c.Packet.Seq
	if !c.Packet.ReplacePayload(off, n, rep) {
		return false
	}
	if d := len(rep) - n; d != 0 {
		c.Table.AdjustSeq(c.CT, seq, int32(d), c.Now)
	}
	return true
}

// mangleUDP replaces n bytes at offset off of the UDP payload with rep,
// as nf_nat_mangle_udp_packet does: the UDP length and checksum follow
// (a checksum of 0, none, stays 0).
func (c *Call) mangleUDP(off, n int, rep []byte) bool { return c.Packet.ReplacePayload(off, n, rep) }

// expectPort registers e at destination port port, or, while that clashes
// with another expectation, at random ports above it, as
// nf_nat_exp_find_port does: the port asked for, then up to 128 random
// ones in [port, 65535). It returns the port registered, 0 if none was
// (the helper then drops the packet: "all ports in use"), and leaves
// e.Tuple.DstPort at it.
func (h *Helper) expectPort(c *Call, e *conntrack.Expectation, port uint16) uint16 {
	span := 0xffff - int(port)
	attempts := min(span, 128)
	first := port
	for {
		e.Tuple.DstPort = port
		err := c.Table.Expect(c.CT, *e, c.Now)
		if err == nil {
			return port
		}
		attempts--
		if !errors.Is(err, conntrack.ErrExpectationClash) || attempts < 0 {
			return 0
		}
		port = first + uint16(uint64(h.rand())*uint64(span)>>32)
	}
}

// NATSetup is what the function that sets up an expected connection's
// NAT needs of the engine.
type NATSetup interface {
	// SetupNAT binds manipulation m of the new connection into range r,
	// as nf_nat_setup_info does, and reports false if no tuple of the
	// range is free.
	SetupNAT(r nat.Range, m nat.Manip) bool
}

// RunExpectFn runs, on a connection an expectation has just created,
// the function the expectation names (init_conntrack calling
// exp->expectfn), which sets up the connection's NAT. It reports false
// if a binding could not be made (the kernel then drops the packet at
// confirmation) or the function is unknown.
func RunExpectFn(exp *conntrack.Expectation, ct *conntrack.Result, tb *conntrack.Table, n NATSetup, now time.Time) bool {
	switch exp.Fn {
	case "":
		return true
	case conntrack.ExpectFollowMaster:
		return followMaster(exp, n)
	case ExpectSIP:
		return sipExpected(exp, ct, tb, n, now)
	case ExpectPPTP:
		return pptpExpected(exp, tb, n, now)
	}
	return false
}

// masterTuple returns the master's tuple in direction d, as the
// expectation recorded it.
func masterTuple(exp *conntrack.Expectation, d conntrack.Dir) *conntrack.Tuple {
	if d == conntrack.Original {
		return &exp.Master
	}
	return &exp.MasterReply
}

// single returns the range of one address (and with port != 0 one port
// too).
func single(addr [16]byte, port uint16, withPort bool) nat.Range {
	r := nat.Range{Min: addr, Max: addr, Flags: nat.MapIPs}
	if withPort {
		r.MinPort, r.MaxPort = port, port
		r.Flags |= nat.ProtoSpecified
	}
	return r
}

// followMaster is nf_nat_follow_master: the expected connection's
// source becomes where the master's packets in the other direction than
// exp.Dir go, and its destination where they come from, at the port the
// helper saved, so that the connection reaches the host that announced
// it as if no NAT were in between.
func followMaster(exp *conntrack.Expectation, n NATSetup) bool {
	other := masterTuple(exp, 1-exp.Dir)
	if !n.SetupNAT(single(other.Dst, 0, false), nat.ManipSrc) {
		return false
	}
	return n.SetupNAT(single(other.Src, exp.SavedPort, true), nat.ManipDst)
}
