//lint:file-ignore ST1005 the errno messages are the kernel's own, as nfnl_osf prints them

package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nfgo/nfgo/packet"
)

// OSFGenreLen is MAXGENRELEN: a genre, version or subtype has fewer
// bytes.
const OSFGenreLen = 32

// OSFMaxOptLen is MAX_IPOPTLEN: a fingerprint's options take at most 40
// bytes, as a TCP header's do.
const OSFMaxOptLen = 40

// How a fingerprint's window size is compared (OSF_WSS_*).
const (
	// OSFWindowPlain: the window equals Val; 0 takes any window.
	OSFWindowPlain uint8 = iota
	// OSFWindowMSS: the window is Val times the packet's MSS (or times
	// 1460 or 1448, which some modems clamp the MSS to).
	OSFWindowMSS
	// OSFWindowMTU: the window is Val times the MSS plus 40.
	OSFWindowMTU
	// OSFWindowModulo: the window is a multiple of Val.
	OSFWindowModulo
	osfWindowMax
)

// OSFOption is one TCP option of a fingerprint: its kind and the bytes
// it takes.
type OSFOption struct {
	Kind, Length uint8
	// Wildcard and Value are what the file said of an MSS or window
	// scale option's value (M*, W%2…); the kernel keeps them and never
	// compares them.
	Wildcard uint8
	Value    uint32
}

// OSFingerprint is one passive OS fingerprint (struct
// nf_osf_user_finger), as nfnl_osf reads it from a pf.os line: what a
// SYN from the system looks like.
type OSFingerprint struct {
	// WindowKind (OSFWindow*) and Window say how the TCP window is
	// compared.
	WindowKind uint8
	Window     uint32
	// TTL is the initial TTL; DF is the don't-fragment value the file
	// gave (its truth picks the list the kernel files it in).
	TTL uint8
	DF  uint8
	// Size is the SYN's IP total length.
	Size uint16
	// Options are the TCP options in their order.
	Options []OSFOption
	// Genre ("Linux"), Version ("2.6") and Subtype, each under
	// OSFGenreLen bytes.
	Genre, Version, Subtype string

	optSize int // the bytes Options take, set by Add
}

// The errors OSFingerprints gives, the kernel's errno for each.
var (
	// ErrOSFInvalid: a fingerprint the kernel refuses (EINVAL): a
	// modulo of 0, options longer than 40 bytes, an MSS option shorter
	// than 4, a name of OSFGenreLen bytes or more.
	ErrOSFInvalid = errors.New("Invalid argument")
	// ErrOSFNotFound: Remove found no such fingerprint (ENOENT).
	ErrOSFNotFound = errors.New("No such file or directory")
)

// Validate is nfnl_osf_add_callback's check: an error wrapping
// ErrOSFInvalid for a fingerprint the kernel refuses.
func (f *OSFingerprint) Validate() error {
	if f.WindowKind >= osfWindowMax || f.WindowKind == OSFWindowModulo && f.Window == 0 {
		return fmt.Errorf("osf: window %c%d: %w", "0SM%"[f.WindowKind%4], f.Window, ErrOSFInvalid)
	}
	if len(f.Options) > OSFMaxOptLen {
		return fmt.Errorf("osf: %d options: %w", len(f.Options), ErrOSFInvalid)
	}
	for _, o := range f.Options {
		if o.Length == 0 || o.Length > OSFMaxOptLen || o.Kind == packet.TCPOptionMSS && o.Length < 4 {
			return fmt.Errorf("osf: option %d of length %d: %w", o.Kind, o.Length, ErrOSFInvalid)
		}
	}
	if total := f.optLen(); total > OSFMaxOptLen {
		return fmt.Errorf("osf: options of %d bytes: %w", total, ErrOSFInvalid)
	}
	for _, s := range [...]string{f.Genre, f.Version, f.Subtype} {
		if len(s) >= OSFGenreLen {
			return fmt.Errorf("osf: name %q: %w", s, ErrOSFInvalid)
		}
	}
	return nil
}

func (f *OSFingerprint) equal(g *OSFingerprint) bool {
	if f.WindowKind != g.WindowKind || f.Window != g.Window || f.TTL != g.TTL || f.DF != g.DF || f.Size != g.Size ||
		f.Genre != g.Genre || f.Version != g.Version || f.Subtype != g.Subtype || len(f.Options) != len(g.Options) {
		return false
	}
	for i := range f.Options {
		if f.Options[i] != g.Options[i] {
			return false
		}
	}
	return true
}

// optLen is the bytes the fingerprint's options take.
func (f *OSFingerprint) optLen() int {
	n := 0
	for _, o := range f.Options {
		n += int(o.Length)
	}
	return n
}

// OSFingerprints is the host's fingerprints, which -m osf compares SYNs
// with: the kernel's nf_osf_fingers, filled by nfnl_osf -f pf.os. As in
// the kernel there are two lists, by the don't-fragment bit, each in the
// order the fingerprints were added. It is safe for concurrent use: a
// change copies the lists and publishes them whole, so packets read
// them without a lock (as the kernel's readers walk its RCU lists). The
// zero value is empty.
type OSFingerprints struct {
	mu    sync.Mutex // serialises Add, Remove and Flush
	lists atomic.Pointer[osfLists]
}

type osfLists [2][]OSFingerprint // by DF

// Add adds f, as OSF_MSG_ADD does: a fingerprint equal to one held
// already is passed over.
func (t *OSFingerprints) Add(f OSFingerprint) error {
	if err := f.Validate(); err != nil {
		return err
	}
	f.Options = append([]OSFOption(nil), f.Options...)
	f.optSize = f.optLen()
	t.mu.Lock()
	defer t.mu.Unlock()
	var next osfLists
	if cur := t.lists.Load(); cur != nil {
		next = *cur
	}
	df := min(f.DF, 1)
	for i := range next[df] {
		if next[df][i].equal(&f) {
			return nil
		}
	}
	next[df] = append(next[df][:len(next[df]):len(next[df])], f)
	t.lists.Store(&next)
	return nil
}

// Remove removes the fingerprint equal to f (OSF_MSG_REMOVE, nfnl_osf
// -d), or returns ErrOSFNotFound.
func (t *OSFingerprints) Remove(f OSFingerprint) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.lists.Load()
	if cur == nil {
		return ErrOSFNotFound
	}
	df := min(f.DF, 1)
	for i := range cur[df] {
		if cur[df][i].equal(&f) {
			next := *cur
			next[df] = append(append([]OSFingerprint(nil), cur[df][:i]...), cur[df][i+1:]...)
			t.lists.Store(&next)
			return nil
		}
	}
	return ErrOSFNotFound
}

// Flush removes every fingerprint.
func (t *OSFingerprints) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lists.Store(nil)
}

// List returns the fingerprints: those without DF, then those with it,
// each list in its order.
func (t *OSFingerprints) List() []OSFingerprint {
	cur := t.lists.Load()
	if cur == nil {
		return nil
	}
	return append(append([]OSFingerprint(nil), cur[0]...), cur[1]...)
}

// Len returns how many fingerprints there are.
func (t *OSFingerprints) Len() int {
	cur := t.lists.Load()
	if cur == nil {
		return 0
	}
	return len(cur[0]) + len(cur[1])
}

// How -m osf --ttl compares the packet's TTL with a fingerprint's
// (NF_OSF_TTL_*).
const (
	// OSFTTLTrue: they are equal, for a host on the same link (the
	// default).
	OSFTTLTrue uint8 = iota
	// OSFTTLLess: the packet's is not above the fingerprint's, for a
	// host some hops away.
	OSFTTLLess
	// OSFTTLNoCheck: TTLs are not compared.
	OSFTTLNoCheck
)

// How -m osf --log logs (NF_OSF_LOGLEVEL_*).
const (
	// OSFLogAll logs every fingerprint that matches, and a packet none
	// does.
	OSFLogAll uint8 = iota
	// OSFLogFirst logs the first that matches.
	OSFLogFirst
	// OSFLogAllKnown is the kernel's "log all known": it logs as
	// OSFLogAll does.
	OSFLogAllKnown
)

// OSFMatch is -m osf (xt_osf.c, nfnetlink_osf.c): a TCP SYN that looks
// like a fingerprint of the genre, from the host's fingerprints
// (Objects.OSF; none when nil, and then nothing matches). A fingerprint
// is compared as the kernel compares it: the IP total length, the TTL
// (TTL), the TCP options' kinds in order with the fingerprint's lengths
// summing to the header's, then the window.
//
// As in the kernel, with Log the genre is not asked for: any matching
// fingerprint makes the packet match, and each is logged (Logger, as
// nf_log_packet logs at notice); and Invert, which iptables accepts and
// prints, changes nothing, since the kernel never reads it.
type OSFMatch struct {
	// Genre is the operating system's name, as the fingerprints give
	// it (compared exactly); under OSFGenreLen bytes.
	Genre  string
	Invert bool
	// HasTTL says --ttl was given, TTL its value (OSFTTL*).
	HasTTL bool
	TTL    uint8
	// Log says --log was given, LogLevel its value (OSFLog*).
	Log      bool
	LogLevel uint8

	fingers *OSFingerprints
}

// Name returns "osf".
func (*OSFMatch) Name() string { return "osf" }

// RequiredProto binds the match to -p tcp.
func (*OSFMatch) RequiredProto() (uint8, bool) { return packet.ProtoTCP, false }

// Allowed restricts the match to PREROUTING, INPUT and FORWARD, as
// xt_osf registers it.
func (*OSFMatch) Allowed() (TableMask, HookMask) {
	return 0, Hooks(Prerouting, Input, Forward)
}

// Bind takes the host's fingerprints.
func (m *OSFMatch) Bind(b *Binding) (any, error) {
	bound := *m
	bound.fingers = b.objs.OSF
	return &bound, nil
}

// osfPacket is what a SYN shows the fingerprints.
type osfPacket struct {
	totlen, window uint16
	ttl            uint8
	opts           []byte
}

// readOSF reads what the fingerprints look at in a TCP SYN, and the
// list its DF bit picks; ok is false for another packet.
func readOSF(p *packet.Packet) (pk osfPacket, df int, ok bool) {
	th := p.TransportHeader()
	if p.Family != packet.IPv4 || len(th) < 20 || th[13]&packet.TCPSyn == 0 {
		return pk, 0, false
	}
	ip := p.Bytes()
	pk = osfPacket{totlen: uint16(ip[2])<<8 | uint16(ip[3]), window: uint16(th[14])<<8 | uint16(th[15]), ttl: ip[8]}
	if doff := int(th[12]>>4) * 4; doff > 20 {
		if len(th) < doff {
			return pk, 0, false // skb_header_pointer fails
		}
		pk.opts = th[20:doff]
	}
	if ip[6]&0x40 != 0 {
		df = 1
	}
	return pk, df, true
}

// Match compares the SYN with the fingerprints.
func (m *OSFMatch) Match(c *Context) bool {
	p := c.Packet
	pk, df, ok := readOSF(p)
	if !ok {
		return false
	}
	var cur *osfLists
	if m.fingers != nil {
		cur = m.fingers.lists.Load()
	}
	ttlCheck := OSFTTLTrue
	if m.HasTTL {
		ttlCheck = m.TTL
	}
	n := 0
	if cur != nil {
		for i := range cur[df] {
			f := &cur[df][i]
			if !m.Log && f.Genre != m.Genre {
				continue
			}
			if !pk.matches(f, ttlCheck) {
				continue
			}
			n++
			if m.Log {
				m.log(c, fmt.Sprintf("%s [%s:%s] : %s:%d -> %s:%d hops=%d\n", f.Genre, f.Version, f.Subtype,
					p.Src(), p.SrcPort, p.Dst(), p.DstPort, int(f.TTL)-int(pk.ttl)))
				if m.LogLevel == OSFLogFirst {
					break
				}
			}
		}
	}
	if n == 0 && m.Log {
		m.log(c, fmt.Sprintf("Remote OS is not known: %s:%d -> %s:%d\n", p.Src(), p.SrcPort, p.Dst(), p.DstPort))
	}
	return n > 0
}

// log writes a line as nf_log_packet does with no log info: the text as
// the prefix of the packet's LOG line, at notice.
func (m *OSFMatch) log(c *Context, prefix string) {
	line := LogLine(c, prefix, LogTCPSeq|LogTCPOpt|LogIPOpt|LogUID)
	c.Emit(Effect{Kind: EffectLog, Text: line})
	l := c.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), SyslogLevel(LogNotice), line, slog.Int("syslog_level", int(LogNotice)))
}

// The MSS values some modems clamp a SYN's MSS to, which a window of
// OSFWindowMSS or OSFWindowMTU is also compared with.
const (
	osfSmartMSS1 = 1460
	osfSmartMSS2 = 1448
)

// matches is nf_osf_match_one.
func (pk *osfPacket) matches(f *OSFingerprint, ttlCheck uint8) bool {
	if pk.totlen != f.Size {
		return false
	}
	switch ttlCheck {
	case OSFTTLTrue:
		if pk.ttl != f.TTL {
			return false
		}
	case OSFTTLNoCheck:
	default:
		// The kernel also looks for the source on the input
		// interface's subnets, and then wants the TTLs equal, which a
		// TTL above the fingerprint's never is.
		if pk.ttl > f.TTL {
			return false
		}
	}
	if f.optSize != len(pk.opts) {
		return false
	}
	var mss uint32
	optp := pk.opts
	for _, o := range f.Options {
		if optp[0] != o.Kind {
			return false
		}
		if o.Kind == packet.TCPOptionMSS {
			mss = uint32(optp[2])<<8 | uint32(optp[3])
		}
		optp = optp[o.Length:]
	}
	w := uint32(pk.window)
	switch f.WindowKind {
	case OSFWindowPlain:
		return f.Window == 0 || w == f.Window
	case OSFWindowMSS:
		return w == f.Window*mss || w == f.Window*osfSmartMSS1 || w == f.Window*osfSmartMSS2
	case OSFWindowMTU:
		return w == f.Window*(mss+40) || w == f.Window*(osfSmartMSS1+40) || w == f.Window*(osfSmartMSS2+40)
	case OSFWindowModulo:
		return f.Window != 0 && w%f.Window == 0
	}
	return false
}
