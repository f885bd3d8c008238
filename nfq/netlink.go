package nfq

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The nfnetlink_queue protocol (include/uapi/linux/netfilter/
// nfnetlink_queue.h). Netlink headers are in host byte order; the queue
// number in nfgenmsg and every attribute payload are big-endian.
const (
	nlmsgHdrLen  = unix.SizeofNlMsghdr // 16
	nfgenHdrLen  = 4
	nlaHdrLen    = 4
	msgHdrLen    = nlmsgHdrLen + nfgenHdrLen
	nlaTypeMask  = 0x3fff // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
	nfnlSubsysQ  = unix.NFNL_SUBSYS_QUEUE
	msgPacket    = nfnlSubsysQ << 8   // NFQNL_MSG_PACKET (0)
	msgVerdict   = nfnlSubsysQ<<8 | 1 // NFQNL_MSG_VERDICT
	msgConfig    = nfnlSubsysQ<<8 | 2 // NFQNL_MSG_CONFIG
	msgBatch     = nfnlSubsysQ<<8 | 3 // NFQNL_MSG_VERDICT_BATCH
	nfnetlinkV0  = 0
	maxCopyRange = 0xffff - 4 // the kernel caps copy_range at 65531
)

// Packet attributes (enum nfqnl_attr_type).
const (
	attrPacketHdr  = 1
	attrVerdictHdr = 2
	attrMark       = 3
	attrTimestamp  = 4
	attrInDev      = 5
	attrOutDev     = 6
	attrPhysIn     = 7
	attrPhysOut    = 8
	attrHWAddr     = 9
	attrPayload    = 10
	attrCapLen     = 13
	attrSkbInfo    = 14
	attrUID        = 16
	attrGID        = 17
	attrPriority   = 21
)

// Config attributes (enum nfqnl_attr_config) and commands.
const (
	cfgCmd    = 1
	cfgParams = 2
	cfgMaxLen = 3
	cfgMask   = 4
	cfgFlags  = 5

	cmdBind   = 1
	cmdUnbind = 2

	copyPacket = 2
)

// Config flags (NFQA_CFG_F_*).
const (
	flagFailOpen = 1 << 0
	flagGSO      = 1 << 2
	flagUIDGID   = 1 << 3
)

// NFQA_SKB_INFO bits.
const (
	skbCsumNotReady    = 1 << 0
	skbGSO             = 1 << 1
	skbCsumNotVerified = 1 << 2
)

// align rounds n up to netlink's 4-byte alignment.
func align(n int) int { return (n + 3) &^ 3 }

// builder appends netlink messages to a reusable buffer.
type builder struct {
	b   []byte
	msg int // offset of the message being built
}

// begin starts a message of type typ for queue num.
func (w *builder) begin(typ, flags uint16, seq uint32, num uint16) {
	w.msg = len(w.b)
	var h [msgHdrLen]byte
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags|unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(h[8:], seq)
	h[16] = unix.AF_UNSPEC
	h[17] = nfnetlinkV0
	binary.BigEndian.PutUint16(h[18:], num)
	w.b = append(w.b, h[:]...)
}

// attr appends an attribute, padded.
func (w *builder) attr(typ uint16, data []byte) {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(nlaHdrLen+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	w.b = append(w.b, h[:]...)
	w.b = append(w.b, data...)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

// attr32 appends a big-endian 32-bit attribute.
func (w *builder) attr32(typ uint16, v uint32) {
	var d [4]byte
	binary.BigEndian.PutUint32(d[:], v)
	w.attr(typ, d[:])
}

// verdictHdr appends NFQA_VERDICT_HDR.
func (w *builder) verdictHdr(v, id uint32) {
	var d [8]byte
	binary.BigEndian.PutUint32(d[0:], v)
	binary.BigEndian.PutUint32(d[4:], id)
	w.attr(attrVerdictHdr, d[:])
}

// end fixes the message's length.
func (w *builder) end() {
	binary.NativeEndian.PutUint32(w.b[w.msg:], uint32(len(w.b)-w.msg))
}

// ErrTruncated is wrapped by the errors for a netlink message shorter
// than its headers say.
var ErrTruncated = errors.New("nfq: truncated netlink message")

// nextMsg splits the first netlink message off b. It returns the
// message's type, flags, sequence number and body (after the netlink
// header), and the rest of b.
func nextMsg(b []byte) (typ, flags uint16, seq uint32, body, rest []byte, err error) {
	if len(b) < nlmsgHdrLen {
		return 0, 0, 0, nil, nil, fmt.Errorf("%w: %d bytes left", ErrTruncated, len(b))
	}
	n := int(binary.NativeEndian.Uint32(b))
	if n < nlmsgHdrLen || n > len(b) {
		return 0, 0, 0, nil, nil, fmt.Errorf("%w: length %d of %d", ErrTruncated, n, len(b))
	}
	typ = binary.NativeEndian.Uint16(b[4:])
	flags = binary.NativeEndian.Uint16(b[6:])
	seq = binary.NativeEndian.Uint32(b[8:])
	body = b[nlmsgHdrLen:n]
	if a := align(n); a < len(b) {
		rest = b[a:]
	}
	return typ, flags, seq, body, rest, nil
}

// nlError returns the error an NLMSG_ERROR body carries: nil for an
// acknowledgement.
func nlError(body []byte) error {
	if len(body) < 4 {
		return fmt.Errorf("%w: NLMSG_ERROR of %d bytes", ErrTruncated, len(body))
	}
	if e := int32(binary.NativeEndian.Uint32(body)); e != 0 {
		return unix.Errno(-e)
	}
	return nil
}

// nextAttr splits the first attribute off b. ok is false at the end or
// at a malformed attribute.
func nextAttr(b []byte) (typ uint16, data, rest []byte, ok bool) {
	if len(b) < nlaHdrLen {
		return 0, nil, nil, false
	}
	n := int(binary.NativeEndian.Uint16(b))
	if n < nlaHdrLen || n > len(b) {
		return 0, nil, nil, false
	}
	typ = binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
	data = b[nlaHdrLen:n]
	if a := align(n); a < len(b) {
		rest = b[a:]
	}
	return typ, data, rest, true
}
