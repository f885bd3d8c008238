package nfq

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Packet is one queued packet as the kernel describes it. Its Payload is
// a view into the Queue's receive buffer: it is valid, and may be
// changed in place, until the next Receive.
type Packet struct {
	// ID is the packet's id in its queue; a verdict names it.
	ID uint32
	// HWProtocol is the link-layer protocol (ETH_P_IP, ETH_P_IPV6).
	HWProtocol uint16
	// Hook is the netfilter hook the packet was queued at
	// (NF_INET_PRE_ROUTING 0 … NF_INET_POST_ROUTING 4).
	Hook uint8
	// Mark is the packet's mark (0 when the kernel sent none).
	Mark uint32
	// Priority is skb->priority, on kernels that report it.
	Priority uint32
	// InDev and OutDev are the interface indexes (0: none).
	InDev, OutDev uint32
	// PhysInDev and PhysOutDev are the bridge ports (0: none).
	PhysInDev, PhysOutDev uint32
	// HWAddr is the source link-layer address, if the kernel knows it.
	HWAddr []byte
	// Time is the packet's receive timestamp, zero if none.
	Time time.Time
	// Payload is the packet from its network header, up to the copy range.
	// Its capacity may reach past its length, into receive buffer space
	// no other packet uses, so that the packet can grow in place when a
	// helper rewrites it (packet.Packet.ReplacePayload).
	Payload []byte
	// Length is the packet's real length: more than len(Payload) when the
	// copy range cut it (NFQA_CAP_LEN).
	Length int
	// SkbInfo holds the NFQA_SKB_INFO bits; see ChecksumNotReady and GSO.
	SkbInfo uint32
	// UID and GID are the owning socket's, with the UID/GID flag and a
	// local socket (HasUID).
	UID, GID uint32
	HasUID   bool
}

// ChecksumNotReady reports that the packet's L4 checksum is partial
// (CHECKSUM_PARTIAL): the kernel or the NIC completes it on the way out.
func (p *Packet) ChecksumNotReady() bool { return p.SkbInfo&skbCsumNotReady != 0 }

// ChecksumVerified reports that the kernel has verified the packet's L4
// checksum (CHECKSUM_UNNECESSARY): its NFQA_SKB_INFO has neither
// NFQA_SKB_CSUMNOTREADY nor NFQA_SKB_CSUM_NOTVERIFIED (a kernel sends
// the attribute only when a bit is set).
func (p *Packet) ChecksumVerified() bool {
	return p.SkbInfo&(skbCsumNotReady|skbCsumNotVerified) == 0
}

// GSO reports that the packet is a GSO super-packet, larger than the MTU.
func (p *Packet) GSO() bool { return p.SkbInfo&skbGSO != 0 }

// Truncated reports whether the copy range cut the payload short.
func (p *Packet) Truncated() bool { return p.Length > len(p.Payload) }

// parsePacket fills p from an NFQNL_MSG_PACKET body (after the netlink
// header). It reports the queue number.
func parsePacket(body []byte, p *Packet) (uint16, error) {
	if len(body) < nfgenHdrLen {
		return 0, fmt.Errorf("%w: packet message of %d bytes", ErrTruncated, len(body))
	}
	num := binary.BigEndian.Uint16(body[2:])
	*p = Packet{}
	hdr := false
	for b := body[nfgenHdrLen:]; len(b) > 0; {
		typ, d, rest, ok := nextAttr(b)
		if !ok {
			return num, fmt.Errorf("%w: bad attribute in packet message", ErrTruncated)
		}
		b = rest
		switch typ {
		case attrPacketHdr:
			if len(d) < 7 {
				return num, fmt.Errorf("%w: packet header of %d bytes", ErrTruncated, len(d))
			}
			p.ID = binary.BigEndian.Uint32(d)
			p.HWProtocol = binary.BigEndian.Uint16(d[4:])
			p.Hook = d[6]
			hdr = true
		case attrMark:
			p.Mark = be32(d)
		case attrPriority:
			p.Priority = be32(d)
		case attrInDev:
			p.InDev = be32(d)
		case attrOutDev:
			p.OutDev = be32(d)
		case attrPhysIn:
			p.PhysInDev = be32(d)
		case attrPhysOut:
			p.PhysOutDev = be32(d)
		case attrHWAddr:
			if len(d) >= 4 {
				n := int(binary.BigEndian.Uint16(d))
				if n <= len(d)-4 {
					p.HWAddr = d[4 : 4+n]
				}
			}
		case attrTimestamp:
			if len(d) >= 16 {
				p.Time = time.Unix(int64(binary.BigEndian.Uint64(d)), int64(binary.BigEndian.Uint64(d[8:]))*1000)
			}
		case attrPayload:
			p.Payload = d
		case attrCapLen:
			p.Length = int(be32(d))
		case attrSkbInfo:
			p.SkbInfo = be32(d)
		case attrUID:
			p.UID, p.HasUID = be32(d), true
		case attrGID:
			p.GID = be32(d)
		}
	}
	if !hdr {
		return num, fmt.Errorf("%w: packet message without a packet header", ErrTruncated)
	}
	if p.Length < len(p.Payload) {
		p.Length = len(p.Payload)
	}
	return num, nil
}

func be32(d []byte) uint32 {
	if len(d) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(d)
}
