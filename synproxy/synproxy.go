// Package synproxy holds what the SYNPROXY target answers SYNs with, as
// the kernel's nf_synproxy_core.c and syncookies.c do: the TCP options
// it reads from a client and writes back, the timestamp cookie that
// carries the client's window scale, SACK and ECN through the
// handshake, and SYN cookies that carry its MSS. The cookies are keyed
// by secrets of the process's own, as the kernel's are by secrets of
// the boot's, so only their structure is the kernel's: a cookie moves
// with the client's ISN, names the kernel's MSS table entry, and lives
// for the minute it was made in and the next.
//
// The SYN/ACK it builds (SYNACKOptions, SYNACK, Segment.Build) is the
// kernel's byte for byte, given the kernel's cookie and clock
// (TestSYNACKMatchesKernel), and so is the SYN to the server that a
// client's ACK opens (ServerSYNOptions, ServerSYN;
// TestServerSYNMatchesKernel), and the two ACKs that answer the
// server's SYN/ACK (ServerACK, ClientACK). Proxy holds one host's keys
// and counters.
//
// The target that uses this is filter.SYNPROXYTarget; the hooks that
// splice a proxied connection's two handshakes (sequence and timestamp
// translation) are the engine's (package nfgo), over conntrack's
// Synproxy state. A whole proxied connection through nfgo's engine is
// the kernel's packet for packet (TestSYNPROXYMatchesKernel).
package synproxy

// Option bits, as xt_SYNPROXY.h numbers them (XT_SYNPROXY_OPT_*).
const (
	OptMSS       uint8 = 0x01
	OptWScale    uint8 = 0x02
	OptSACKPerm  uint8 = 0x04
	OptTimestamp uint8 = 0x08
	OptECN       uint8 = 0x10
)

// maxWScale is TCP_MAX_WSCALE.
const maxWScale = 14

// Options are the TCP options of a handshake segment (struct
// synproxy_options): which are present (Opt* bits) and their values.
type Options struct {
	Options   uint8
	WScale    uint8
	MSS       uint16 // mss_option: the MSS read, or the one to write
	MSSEncode uint16 // mss_encode: the client's MSS, which the cookie encodes
	TSVal     uint32
	TSEcr     uint32
}

// ParseOptions reads a TCP header's options as synproxy_parse_options
// does: NOPs are skipped, an end-of-list or a malformed option ends the
// walk (what was read so far stands), an option of the wrong length is
// skipped by its length, a repeated one overrides, and a window scale
// above 14 is taken as 14. It never fails on the options themselves;
// the caller drops a segment whose header is cut short.
func ParseOptions(opts []byte) Options {
	var o Options
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of list
			return o
		case 1: // NOP
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return o
		}
		size := int(opts[1])
		if size < 2 || size > len(opts) {
			return o
		}
		v := opts[2:size]
		switch {
		case opts[0] == 2 && size == 4:
			o.MSS = uint16(v[0])<<8 | uint16(v[1])
			o.Options |= OptMSS
		case opts[0] == 3 && size == 3:
			o.WScale = min(v[0], maxWScale)
			o.Options |= OptWScale
		case opts[0] == 8 && size == 10:
			o.TSVal = be32(v)
			o.TSEcr = be32(v[4:])
			o.Options |= OptTimestamp
		case opts[0] == 4 && size == 2:
			o.Options |= OptSACKPerm
		}
		opts = opts[size:]
	}
	return o
}

// Size is the bytes Build writes (synproxy_options_size): 4 for the
// MSS, 12 for timestamps (or 4 for SACK permitted alone), 4 for the
// window scale.
func (o *Options) Size() int {
	n := 0
	if o.Options&OptMSS != 0 {
		n += 4
	}
	if o.Options&OptTimestamp != 0 {
		n += 12
	} else if o.Options&OptSACKPerm != 0 {
		n += 4
	}
	if o.Options&OptWScale != 0 {
		n += 4
	}
	return n
}

// Build appends the options as synproxy_build_options lays them out,
// each block 32-bit aligned: MSS; SACK permitted with the timestamps
// (or NOP NOP before them), or NOP NOP and SACK permitted alone; NOP and
// the window scale.
func (o *Options) Build(b []byte) []byte {
	if o.Options&OptMSS != 0 {
		b = append(b, 2, 4, byte(o.MSS>>8), byte(o.MSS))
	}
	switch {
	case o.Options&OptTimestamp != 0:
		if o.Options&OptSACKPerm != 0 {
			b = append(b, 4, 2, 8, 10)
		} else {
			b = append(b, 1, 1, 8, 10)
		}
		b = appendBE32(appendBE32(b, o.TSVal), o.TSEcr)
	case o.Options&OptSACKPerm != 0:
		b = append(b, 1, 1, 4, 2)
	}
	if o.Options&OptWScale != 0 {
		b = append(b, 1, 3, 3, o.WScale)
	}
	return b
}

// InitTimestampCookie is synproxy_init_timestamp_cookie: the answer's
// timestamp echoes the client's, and its own value is the clock in
// milliseconds with the low 6 bits replaced by the client's window scale
// (0xf for none), SACK permitted (bit 4) and ECN (bit 5). The window
// scale announced becomes wscale, the rule's.
func (o *Options) InitTimestampCookie(wscale uint8, nowMillis uint32) {
	o.TSEcr = o.TSVal
	o.TSVal = nowMillis &^ 0x3f
	if o.Options&OptWScale != 0 {
		o.TSVal |= uint32(o.WScale)
		o.WScale = wscale
	} else {
		o.TSVal |= 0xf
	}
	if o.Options&OptSACKPerm != 0 {
		o.TSVal |= 1 << 4
	}
	if o.Options&OptECN != 0 {
		o.TSVal |= 1 << 5
	}
}

// CheckTimestampCookie is synproxy_check_timestamp_cookie: what the
// client's ACK echoes says which options the client offered. Nothing
// proves the echo is the proxy's own.
func (o *Options) CheckTimestampCookie() {
	o.WScale = uint8(o.TSEcr & 0xf)
	if o.WScale != 0xf {
		o.Options |= OptWScale
	}
	if o.TSEcr&(1<<4) != 0 {
		o.Options |= OptSACKPerm
	}
	if o.TSEcr&(1<<5) != 0 {
		o.Options |= OptECN
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func appendBE32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Info is a SYNPROXY rule's configuration (struct xt_synproxy_info):
// the options it lets through (Opt* bits), the window scale and MSS it
// announces.
type Info struct {
	Options uint8
	WScale  uint8
	MSS     uint16
}

// SYNACKOptions are the options of the SYN/ACK that answers a client's
// SYN (synproxy_tg4's SYN path): what the client offered and the rule
// allows (ECN when the SYN has both ECE and CWR), the rule's MSS, and
// with timestamps the timestamp cookie; without timestamps only the MSS
// is negotiated. MSSEncode is the client's own MSS, for the cookie.
func SYNACKOptions(client []byte, ece, cwr bool, info Info, nowMillis uint32) Options {
	o := ParseOptions(client)
	if ece && cwr {
		o.Options |= OptECN
	}
	o.Options &= info.Options
	o.MSSEncode = o.MSS
	o.MSS = info.MSS
	if o.Options&OptTimestamp != 0 {
		o.InitTimestampCookie(info.WScale, nowMillis)
	} else {
		o.Options &^= OptWScale | OptSACKPerm | OptECN
	}
	return o
}
