package helpers

import (
	"bytes"
	"strconv"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Amanda (nf_conntrack_amanda.c, nf_nat_amanda.c). The Amanda backup
// server asks a client's amandad (UDP port 10080) for a backup, and the
// client answers with the TCP ports it listens on for the server:
//
//	CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n
//
// The helper reads only the answers (the reply direction), expects a TCP
// connection from the server to the client at each port it finds, and
// under NAT rewrites each port to one it can expect. Since a client may
// take long to answer, every answer also keeps the control connection
// for master_timeout.
//
// The reading is the kernel's, quirks included: "CONNECT " may be
// anywhere in the packet (the kernel's text search, case-sensitive),
// each port word is looked for anywhere between it and the next
// newline, at most five bytes after the word are read as digits (so
// "DATA 123456" names port 12345), a port wraps at 16 bits, and a port
// of 0 (or no digits) ends the search for the words after it.

// amandaPortWords are the words that name a port, in the order the
// kernel looks for them (SEARCH_DATA to SEARCH_STATE).
var amandaPortWords = [...][]byte{[]byte("DATA "), []byte("MESG "), []byte("INDEX "), []byte("STATE ")}

var (
	amandaConnect = []byte("CONNECT ")
	amandaNewline = []byte("\n")
)

// amandaPortLen is the most bytes read as a port (sizeof("65535") - 1).
const amandaPortLen = 5

func newAmanda(*Config) *Helper {
	return &Helper{
		name: "amanda", protos: []uint8{packet.ProtoUDP}, families: both,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 4, Timeout: 180 * time.Second}},
		help:   amandaHelp,
	}
}

// findText returns the offset in b of the first occurrence of pat that
// starts at or after from and ends at or before to, -1 if there is none:
// skb_find_text, whose search stops at the end of the packet whatever
// to says.
func findText(b []byte, from, to int, pat []byte) int {
	to = min(to, len(b))
	if from < 0 || from >= to {
		return -1
	}
	i := bytes.Index(b[from:to], pat)
	if i < 0 {
		return -1
	}
	return from + i
}

func amandaHelp(h *Helper, c *Call) Verdict {
	// Only the client's answers are read.
	if c.dir() == conntrack.Original {
		return accept
	}
	// Whatever the packet holds, the control connection is kept for
	// master_timeout, as the kernel refreshes it before looking.
	c.Table.Refresh(c.CT, h.cfg.AmandaMasterTimeout, c.Now)
	p := c.Packet
	if p.L4Off == 0 {
		return accept
	}
	// The kernel searches the packet up to its IP length (skb->len),
	// which may run past a short UDP length: offsets here are in the
	// whole packet, as skb_find_text's are.
	dataoff := p.L4Off + 8
	if dataoff >= p.Length {
		return accept
	}
	b := p.Bytes()
	start := findText(b, dataoff, len(b), amandaConnect)
	if start < 0 {
		return accept
	}
	start += len(amandaConnect)
	stop := findText(b, start, len(b), amandaNewline)
	if stop < 0 {
		return accept
	}
	v := accept
	for _, word := range amandaPortWords {
		// A rewrite may have moved or resized the packet; start and
		// stop stay where they were, as the kernel's do.
		b = p.Bytes()
		off := findText(b, start, stop, word)
		if off < 0 {
			continue
		}
		off += len(word)
		n := min(amandaPortLen, stop-off)
		if off+n > len(b) {
			break // skb_copy_bits fails past the end of a shrunk packet
		}
		num, digits := strtoul(b[off:off+n], 0)
		port := uint16(num)
		if port == 0 {
			break
		}
		orig := c.tuple(conntrack.Original)
		exp := conntrack.Expectation{Mask: conntrack.ExpectAnySrcPort}
		exp.Tuple = conntrack.Tuple{Src: orig.Src, Dst: orig.Dst, DstPort: port, Family: orig.Family, Proto: packet.ProtoTCP, Zone: orig.Zone}
		switch {
		case c.natted():
			// Each port's outcome replaces the last one's, as the
			// kernel's ret does: a later port's success accepts a
			// packet an earlier one's failure would have dropped.
			v = amandaNAT(h, c, &exp, off-dataoff, digits)
		case c.Table.Expect(c.CT, exp, c.Now) != nil:
			v = drop("cannot add expectation")
		}
	}
	return v
}

// amandaNAT is nf_nat_amanda: the server's connection will follow the
// master's NAT (it comes in the master's original direction), to the
// port the client named; the answer is rewritten to name the port
// expected, which is that one unless another expectation has it. The n
// digits at payload offset off are replaced.
func amandaNAT(h *Helper, c *Call, exp *conntrack.Expectation, off, n int) Verdict {
	exp.SavedPort = exp.Tuple.DstPort
	exp.Dir = conntrack.Original
	exp.Fn = conntrack.ExpectFollowMaster
	port := h.expectPort(c, exp, exp.SavedPort)
	if port == 0 {
		return drop("all ports in use")
	}
	var buf [amandaPortLen]byte
	if !c.mangleUDP(off, n, strconv.AppendUint(buf[:0], uint64(port), 10)) {
		c.Table.Unexpect(c.CT, *exp, c.Now)
		return drop("cannot mangle packet")
	}
	return accept
}
