package ctsync

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// This file reads conntrackd.conf as conntrackd 1.4.7 does
// (read_config_lex.l, read_config_yy.y, run.c evaluate): the same files
// are accepted, syntax errors carry conntrackd's exact line and symbol,
// and its fatal checks print its exact text. On top of that, nfgo
// refuses settings it cannot honour, but only once conntrackd itself
// would have accepted the file, so a user fixing a file sees
// conntrackd's complaints first, in conntrackd's order.

// ErrConfig is wrapped by every error ReadConfig returns for a bad file.
var ErrConfig = errors.New("ctsync: bad conntrackd.conf")

// ConfigError is a refusal of a conntrackd.conf.
type ConfigError struct {
	// Line is the line the refusal is about, or 0 when conntrackd's
	// message has none (its checks after a block closes).
	Line int
	// Msg is conntrackd's own text (for a syntax error the whole
	// "parsing config file in line (N), symbol 'X': syntax error"), or,
	// when Nfgo is set, nfgo's reason.
	Msg string
	// Nfgo is set when conntrackd would accept the file but nfgo cannot
	// honour a setting in it.
	Nfgo bool
}

// Error returns conntrackd's text for what conntrackd rejects, and
// "conntrackd.conf line N: reason" for an nfgo refusal.
func (e *ConfigError) Error() string {
	if e.Nfgo {
		return fmt.Sprintf("conntrackd.conf line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// A Note is a setting accepted but ignored, or a warning conntrackd
// would print. Line is 0 for conntrackd's warnings after parsing.
type Note struct {
	Line int
	Text string
}

// String returns "line N: text".
func (n Note) String() string { return fmt.Sprintf("line %d: %s", n.Line, n.Text) }

// Mode is a synchronisation mode.
type Mode uint8

// The modes nfgo implements.
const (
	ModeFTFW Mode = iota
	ModeNOTRACK
)

// String returns the mode as conntrackd.conf spells it.
func (m Mode) String() string {
	switch m {
	case ModeFTFW:
		return "FTFW"
	case ModeNOTRACK:
		return "NOTRACK"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// conntrackd's defaults, filled in after parsing whenever the value is 0
// (read_config_yy.y init_config), so "ResendQueueSize 0" is the default.
const (
	DefaultResendQueueSize = 131072
	DefaultACKWindowSize   = 300
	DefaultPurgeTimeout    = 60 * time.Second
)

// Config is what nfgo takes from a conntrackd.conf: the Sync section
// and the General filter.
type Config struct {
	Mode Mode
	// ResendQueueSize and ACKWindowSize are FTFW's; they hold
	// conntrackd's defaults when unset or 0.
	ResendQueueSize, ACKWindowSize int
	// CommitTimeout is 0 when unset (conntrackd then estimates it), and
	// also when DisableExternalCache is on, since evaluate() drops it.
	CommitTimeout time.Duration
	PurgeTimeout  time.Duration
	// DisableExternalCache injects received entries straight into the
	// kernel table.
	DisableExternalCache bool
	StartupResync        bool
	TCPWindowTracking    bool
	// ExpectationSync is on for "ExpectationSync on" or a list;
	// ExpectationHelpers is the list (empty: every helper), without
	// duplicates, which conntrackd compares case-insensitively.
	ExpectationSync    bool
	ExpectationHelpers []string
	Transport          Transport
	Filter             Filter
}

// Transport is the one dedicated link.
type Transport struct {
	Kind string // "UDP" or "Multicast"
	// Local is UDP's IPv4_address/IPv6_address (the address to bind),
	// or Multicast's group address.
	Local netip.Addr
	// Peer is UDP's IPv*_Destination_Address; invalid for Multicast.
	Peer netip.Addr
	// Interface is the device to send on; conntrackd cannot open a
	// channel without one.
	Interface string
	// InterfaceAddr is Multicast's IPv4_interface: the local address
	// multicast is sent from (0.0.0.0 when unset, as conntrackd).
	InterfaceAddr netip.Addr
	// Port is UDP's Port or Multicast's Group, truncated to 16 bits as
	// conntrackd's unsigned short field truncates it.
	Port uint16
	// SndBuffer and RcvBuffer are socket buffer sizes; 0 is the
	// system's default.
	SndBuffer, RcvBuffer int
	// Checksum is the UDP checksum; on by default (conntrackd sets
	// SO_NO_CHECK only for "Checksum off").
	Checksum bool
	// Default is set when the block was marked Default.
	Default bool
}

// Filter is the General section's Filter: which events are
// synchronised. A nil list means no filter of that kind.
type Filter struct {
	// Kernelspace is set by "Filter From Kernelspace": the filter is
	// attached to the netlink socket instead of applied in userspace.
	Kernelspace bool
	Protocols   *ProtoFilter
	Addresses   *AddrFilter
	States      *StateFilter
}

// ProtoFilter matches the layer 4 protocol. Accept is the policy of the
// last Protocol item (Accept or Ignore); the lists of every item add up.
type ProtoFilter struct {
	Accept bool
	Protos []uint8
}

// AddrFilter matches either address of the original tuple. A host
// address is a full-length prefix.
type AddrFilter struct {
	Accept   bool
	Prefixes []netip.Prefix
}

// StateFilter matches TCP states; only TCP can be filtered by state.
type StateFilter struct {
	Accept bool
	States []conntrack.TCPState
}

// ReadConfig reads a conntrackd.conf. It returns the configuration and
// notes (settings ignored, conntrackd's warnings), or a *ConfigError
// wrapping ErrConfig.
func ReadConfig(data []byte) (cfg *Config, notes []Note, err error) {
	p := &parser{}
	p.lx = lexer{data: data, line: 1, notes: &p.notes}
	p.cfg.Transport.Checksum = true
	p.syslog, p.statsSyslog = -1, -1
	defer func() {
		if r := recover(); r != nil {
			ce, ok := r.(*ConfigError)
			if !ok {
				panic(r)
			}
			cfg, notes, err = nil, p.notes, ce
		}
	}()
	p.file()
	p.finish()
	if p.refusal != nil {
		return nil, p.notes, p.refusal
	}
	return &p.cfg, p.notes, nil
}

type parser struct {
	lx      lexer
	look    token
	hasLook bool
	notes   []Note
	cfg     Config
	refusal *ConfigError // the first nfgo refusal, reported if nothing worse

	syslog, statsSyslog int // facilities, -1 when off

	sawSync, sawStats bool
	syncLine          int
	modes             [3]bool // FTFW, NOTRACK and ALARM blocks seen
	chanKind          string  // conntrackd's channel_type_global
	chanNum           int
	chans             []channel
	expectOn          bool // an ExpectationSync on or list was seen
	expectSeen        map[string]bool
	commitSet         bool
	filter            Filter
	depth             int      // bison stack entries inside Helper, see helperType
	policies          []string // Policy names on conntrackd's symbol stack
}

// channel is one transport block as conntrackd's channel_conf.
type channel struct {
	kind       string
	line       int
	t          Transport
	family     int // 0, 4 or 6: conntrackd's ipproto
	local4     netip.Addr
	local6     netip.Addr
	peer4      netip.Addr
	peer6      netip.Addr
	ifaceLong  bool
	ifaceSeen6 bool
}

// fail stops parsing with conntrackd's message; ReadConfig recovers it.
func (p *parser) fail(line int, msg string) {
	panic(&ConfigError{Line: line, Msg: msg})
}

// refuse records nfgo's first refusal; parsing goes on so that
// conntrackd's own errors later in the file take precedence.
func (p *parser) refuse(line int, format string, args ...any) {
	if p.refusal == nil {
		p.refusal = &ConfigError{Line: line, Msg: fmt.Sprintf(format, args...), Nfgo: true}
	}
}

func (p *parser) note(line int, format string, args ...any) {
	p.notes = append(p.notes, Note{Line: line, Text: fmt.Sprintf(format, args...)})
}

func (p *parser) ignore(t token, why string) {
	p.note(t.line, "`%s' means nothing to nfgo (%s), ignoring", t.text, why)
}

func (p *parser) peek() token {
	if !p.hasLook {
		p.look, p.hasLook = p.lx.next(), true
	}
	return p.look
}

func (p *parser) advance() token {
	t := p.peek()
	p.hasLook = false
	return t
}

// syntaxError is yyerror: the line is yylineno after scanning the
// lookahead, the symbol its text.
func (p *parser) syntaxError(t token) {
	p.fail(t.line, fmt.Sprintf("parsing config file in line (%d), symbol '%s': syntax error", t.line, t.text))
}

func (p *parser) expectChar(c byte) token {
	t := p.advance()
	if !t.isChar(c) {
		p.syntaxError(t)
	}
	return t
}

func (p *parser) expectKind(k tokKind) token {
	t := p.advance()
	if t.kind != k {
		p.syntaxError(t)
	}
	return t
}

func (p *parser) expectKeyword(kw string) token {
	t := p.advance()
	if !t.is(kw) {
		p.syntaxError(t)
	}
	return t
}

// boolean takes T_ON or T_OFF.
func (p *parser) boolean() bool {
	t := p.advance()
	switch t.kind {
	case tokOn:
		return true
	case tokOff:
		return false
	}
	p.syntaxError(t)
	return false
}

func (p *parser) number() int32 { return p.expectKind(tokNumber).val }

// block parses '{' items '}', calling item with each lookahead that is
// not '}'; item must consume it or report a syntax error.
func (p *parser) block(item func(t token)) token {
	p.expectChar('{')
	for {
		t := p.peek()
		if t.isChar('}') {
			return p.advance()
		}
		item(t)
	}
}

// file is configfile: General, Sync, Stats and Helper sections in any
// order and number, then the end of input (or a NUL byte).
func (p *parser) file() {
	for {
		t := p.advance()
		switch {
		case t.kind == tokEOF:
			return
		case t.is("General"):
			p.block(p.generalLine)
		case t.is("Sync"):
			p.syncSection(t)
		case t.is("Stats"):
			p.statsSection(t)
		case t.is("Helper"):
			p.helperSection(t)
		default:
			p.syntaxError(t)
		}
	}
}

const filenameMax = 256 // FILENAME_MAXLEN

func (p *parser) generalLine(_ token) {
	t := p.advance()
	switch {
	case t.is("HashSize"), t.is("HashLimit"):
		p.number()
		p.ignore(t, "nfgo sizes its own connection table")
	case t.is("NetlinkBufferSize"), t.is("SocketBufferSize"),
		t.is("NetlinkBufferSizeMaxGrowth"), t.is("SocketBufferSizeMaxGrown"), t.is("SocketBufferSizeMaxGrowth"):
		p.number()
		p.ignore(t, "nfgo reads no netlink socket")
	case t.is("EventIterationLimit"):
		p.number()
		p.ignore(t, "nfgo reads no netlink socket")
	case t.is("LogFile"):
		v := p.advance()
		switch v.kind {
		case tokOn, tokOff:
		case tokPath:
			if len(cString(v.text)) > filenameMax {
				p.fail(0, "LogFile path is longer than 256 characters")
			}
		default:
			p.syntaxError(v)
		}
		p.ignore(t, "nfgo logs through its caller")
	case t.is("Syslog"):
		p.syslogLine(t, false)
		p.ignore(t, "nfgo logs through its caller")
	case t.is("LockFile"):
		v := p.expectKind(tokPath)
		if len(cString(v.text)) > filenameMax {
			p.fail(0, "LockFile path is longer than 256 characters")
		}
		p.ignore(t, "nfgo run takes no lock file")
	case t.is("UNIX"):
		p.block(func(token) {
			o := p.advance()
			switch {
			case o.is("Path"):
				v := p.expectKind(tokPath)
				// sizeof(sun_path) is 108, with room for the NUL.
				if len(cString(v.text)) >= 108 {
					p.fail(0, "Path is longer than 107 characters")
				}
			case o.is("Backlog"):
				p.number()
				p.note(o.line, "deprecated unix backlog configuration, ignoring.")
			default:
				p.syntaxError(o)
			}
		})
		p.ignore(t, "nfgo run's control socket is --control, which nfgo sync talks to")
	case t.is("PollSecs"):
		if p.number() == 0 {
			p.fail(0, "`PollSecs' clause must be > 0")
		}
		p.ignore(t, "nfgo sees every event")
	case t.is("Filter"):
		p.filterLine()
	case t.is("NetlinkOverrunResync"):
		v := p.advance()
		if v.kind != tokOn && v.kind != tokOff && v.kind != tokNumber {
			p.syntaxError(v)
		}
		p.ignore(t, "nfgo reads no netlink socket")
	case t.is("NetlinkEventsReliable"), t.is("Systemd"):
		p.boolean()
		p.ignore(t, "nfgo run reads no kernel events and does not notify systemd")
	case t.is("Nice"):
		p.expectKind(tokSigned)
		p.note(t.line, "deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).")
	case t.is("Scheduler"):
		p.block(func(token) {
			o := p.advance()
			switch {
			case o.is("Type"):
				v := p.expectKind(tokString)
				if !strings.EqualFold(v.text, "rr") && !strings.EqualFold(v.text, "fifo") {
					p.fail(0, "unknown scheduler `"+v.text+"'")
				}
			case o.is("Priority"):
				if n := p.number(); n < 0 || n > 99 {
					p.fail(0, "`Priority' must be [0, 99]")
				}
			default:
				p.syntaxError(o)
			}
		})
		p.ignore(t, "nfgo leaves scheduling to its caller")
	default:
		p.syntaxError(t)
	}
}

// syslogFacilities are the names conntrackd compares with strcmp.
var syslogFacilities = map[string]int{"daemon": 3 << 3}

func init() {
	for i := range 8 {
		syslogFacilities["local"+strconv.Itoa(i)] = (16 + i) << 3
	}
}

func (p *parser) syslogLine(t token, stats bool) {
	v := p.advance()
	mine, other := &p.syslog, p.statsSyslog
	if stats {
		mine, other = &p.statsSyslog, p.syslog
	}
	switch v.kind {
	case tokOn:
		*mine = syslogFacilities["daemon"]
	case tokOff:
		*mine = -1
	case tokString:
		f, ok := syslogFacilities[v.text]
		if !ok {
			if stats {
				// Stats' message ends in a period, General's does not.
				p.note(v.line, "'%s' is not a known syslog facility, ignoring.", v.text)
			} else {
				p.note(v.line, "'%s' is not a known syslog facility, ignoring", v.text)
			}
			return
		}
		*mine = f
		if other != -1 && other != f {
			p.note(v.line, "conflicting Syslog facility values, defaulting to General")
		}
	default:
		p.syntaxError(v)
	}
}

func (p *parser) statsSection(kw token) {
	p.block(func(token) {
		t := p.advance()
		switch {
		case t.is("LogFile"):
			v := p.advance()
			switch v.kind {
			case tokOn, tokOff:
			case tokPath:
				if len(cString(v.text)) > filenameMax {
					p.fail(0, "stats LogFile path is longer than 256 characters")
				}
			default:
				p.syntaxError(v)
			}
		case t.is("Syslog"):
			p.syslogLine(t, true)
		default:
			p.syntaxError(t)
		}
	})
	if p.sawSync {
		p.fail(0, "cannot use both `Stats' and `Sync' clauses in conntrackd.conf")
	}
	p.sawStats = true
	p.refuse(kw.line, "nfgo has no statistics mode (Stats); use Sync")
}

func (p *parser) syncSection(kw token) {
	if p.syncLine == 0 {
		p.syncLine = kw.line
	}
	p.block(func(token) {
		t := p.advance()
		switch {
		case t.is("RefreshTime"), t.is("CacheTimeout"):
			p.number()
			p.note(t.line, "`%s' is an ALARM setting, ignoring", t.text)
		case t.is("CommitTimeout"), t.is("PurgeTimeout"):
			p.timeout(t)
		case t.is("Multicast"), t.is("UDP"), t.is("TCP"):
			p.transport(t)
		case t.is("Mode"):
			p.mode(t)
		case t.is("Options"):
			p.block(func(token) { p.option() })
		default:
			p.syntaxError(t)
		}
	})
	if p.sawStats {
		p.fail(0, "cannot use both `Stats' and `Sync' clauses in conntrackd.conf")
	}
	p.sawSync = true
}

func (p *parser) timeout(t token) {
	d := time.Duration(p.number()) * time.Second
	if t.text == "CommitTimeout" {
		p.cfg.CommitTimeout = d
		p.commitSet = d != 0
	} else {
		p.cfg.PurgeTimeout = d
	}
}

func (p *parser) option() {
	t := p.advance()
	switch {
	case t.is("TCPWindowTracking"):
		p.cfg.TCPWindowTracking = p.boolean()
	case t.is("ExpectationSync"):
		if p.peek().isChar('{') {
			p.block(func(token) {
				v := p.expectKind(tokString)
				// exp_filter_add skips names already present,
				// compared with strncasecmp.
				k := strings.ToLower(v.text)
				if p.expectSeen == nil {
					p.expectSeen = map[string]bool{}
				}
				if !p.expectSeen[k] {
					p.expectSeen[k] = true
					p.cfg.ExpectationHelpers = append(p.cfg.ExpectationHelpers, v.text)
				}
			})
			p.expectOn, p.cfg.ExpectationSync = true, true
			return
		}
		v := p.advance()
		switch v.kind {
		case tokOn:
			p.expectOn, p.cfg.ExpectationSync = true, true
		case tokOff:
			if p.expectOn {
				// conntrackd keeps the expectation flag but switches
				// netlink back, and aborts at start-up (assertion in
				// nfnl_callback_register; research test b03).
				p.refuse(v.line, "ExpectationSync off after ExpectationSync on makes conntrackd 1.4.7 abort; keep one of them")
			}
		default:
			p.syntaxError(v)
		}
	default:
		p.syntaxError(t)
	}
}

// mode is a Mode block. Only the directives of that mode's list are
// grammatical inside it, but every value is global (yy:799-842).
func (p *parser) mode(kw token) {
	m := p.advance()
	var allowed []string
	switch m.kind {
	case tokAlarm:
		allowed = []string{"RefreshTime", "CacheTimeout", "CommitTimeout", "PurgeTimeout"}
		p.refuse(m.line, "nfgo does not implement ALARM mode; use FTFW or NOTRACK")
		p.modes[2] = true
	case tokFTFW:
		allowed = []string{"ResendQueueSize", "CommitTimeout", "PurgeTimeout", "ACKWindowSize", "DisableExternalCache", "StartupResync"}
		p.modes[0] = true
	case tokNotrack:
		allowed = []string{"CommitTimeout", "PurgeTimeout", "DisableInternalCache", "DisableExternalCache", "StartupResync"}
		p.modes[1] = true
	default:
		p.syntaxError(m)
	}
	p.block(func(token) {
		t := p.advance()
		ok := false
		for _, a := range allowed {
			ok = ok || t.is(a)
		}
		if !ok {
			p.syntaxError(t)
		}
		switch t.text {
		case "RefreshTime", "CacheTimeout":
			p.number()
		case "CommitTimeout", "PurgeTimeout":
			p.timeout(t)
		case "ResendQueueSize":
			p.cfg.ResendQueueSize = int(uint32(p.number()))
		case "ACKWindowSize":
			p.cfg.ACKWindowSize = int(uint32(p.number()))
		case "DisableExternalCache":
			p.cfg.DisableExternalCache = p.boolean()
		case "DisableInternalCache":
			v := p.advance()
			switch v.kind {
			case tokOn:
				p.refuse(t.line, "nfgo always keeps its internal cache; DisableInternalCache on cannot be honoured")
			case tokOff:
			default:
				p.syntaxError(v)
			}
		case "StartupResync":
			p.cfg.StartupResync = p.boolean()
		}
	})
}

const multichannelMax = 4 // MULTICHANNEL_MAX

// transport is a Multicast, UDP or TCP block (yy:203-682).
func (p *parser) transport(kw token) {
	c := channel{kind: kw.text, line: kw.line}
	c.t.Checksum = true
	c.t.InterfaceAddr = netip.IPv4Unspecified()
	if p.peek().is("Default") {
		p.advance()
		c.t.Default = true
	}
	p.block(func(token) {
		p.transportOption(&c, p.advance())
	})
	if p.chanKind != "" && p.chanKind != c.kind {
		p.fail(0, "cannot use `"+c.kind+"' with other dedicated link protocols!")
	}
	p.chanKind = c.kind
	p.chanNum++
	p.chans = append(p.chans, c)
	switch {
	case c.kind == "TCP":
		p.refuse(kw.line, "nfgo does not implement the TCP transport; use UDP or Multicast")
	case len(p.chans) > 1:
		p.refuse(kw.line, "nfgo supports one dedicated link; remove this extra %s block", c.kind)
	}
}

// linkLimit is __max_dedicated_links_reached, the first step of every
// option's action but IPv6_interface's: a 5th block fails only once it
// holds an option, after that option's value was scanned (1.4.8 also
// checks at the block's '}').
func (p *parser) linkLimit() {
	if p.chanNum >= multichannelMax {
		p.fail(0, fmt.Sprintf("too many dedicated links in the configuration file (Maximum: %d)", multichannelMax))
	}
}

func (p *parser) transportOption(c *channel, o token) {
	mcast := c.kind == "Multicast"
	val := func(k tokKind) token {
		v := p.expectKind(k)
		p.linkLimit()
		return v
	}
	num := func() int32 { return val(tokNumber).val }
	addr := func(v4 bool) (netip.Addr, bool) {
		v := val(tokIP)
		a, ok := parseAddr(v.text, v4)
		if !ok {
			fam := "IPv6"
			if v4 {
				fam = "IPv4"
			}
			p.note(v.line, "%s is not a valid %s address", v.text, fam)
		}
		return a, ok
	}
	switch {
	case o.is("IPv4_address"):
		a, ok := addr(true)
		switch {
		case !ok:
		case mcast && c.family == 6:
			p.note(o.line, "your multicast address is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want")
		default:
			c.local4, c.family = a, 4
		}
	case o.is("IPv6_address"):
		a, ok := addr(false)
		switch {
		case !ok:
		case mcast && c.family == 4:
			p.note(o.line, "your multicast address is IPv6 but is binded to an IPv4 interface? Surely this is not what you want")
		default:
			c.local6, c.family = a, 6
			if mcast && c.t.Interface != "" && !c.ifaceSeen6 {
				// With Interface already given, yy:270 looks up the
				// address text as an interface name (research §2.3).
				p.note(o.line, "%s is an invalid interface", a)
			}
			c.ifaceSeen6 = true
		}
	case o.is("IPv4_interface") && mcast:
		a, ok := addr(true)
		switch {
		case !ok:
		case c.family == 6:
			p.note(o.line, "your multicast interface is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want")
		default:
			c.t.InterfaceAddr, c.family = a, 4
		}
	case o.is("IPv6_interface") && mcast:
		p.expectKind(tokIP)
		p.note(o.line, "`IPv6_interface' not required, ignoring")
	case o.is("IPv4_Destination_Address") && !mcast:
		if a, ok := addr(true); ok {
			c.peer4, c.family = a, 4
		}
	case o.is("IPv6_Destination_Address") && !mcast:
		if a, ok := addr(false); ok {
			c.peer6, c.family = a, 6
		}
	case o.is("Interface"):
		v := val(tokString)
		// strncpy into IFNAMSIZ (16) bytes: a longer name is cut, and
		// Linux names are at most 15 bytes anyway.
		c.t.Interface = v.text
		c.ifaceLong = len(v.text) >= 16
	case o.is("Group") && mcast, o.is("Port") && !mcast:
		c.t.Port = uint16(num())
	case o.is("SndSocketBuffer"):
		c.t.SndBuffer = int(uint32(num()))
	case o.is("RcvSocketBuffer"):
		c.t.RcvBuffer = int(uint32(num()))
	case o.is("Checksum"):
		c.t.Checksum = p.boolean()
		p.linkLimit()
	case o.is("ErrorQueueLength") && c.kind == "TCP":
		num()
	default:
		p.syntaxError(o)
	}
}

// parseAddr is inet_aton (v4) or inet_pton(AF_INET6) on a T_IP token.
func parseAddr(s string, v4 bool) (netip.Addr, bool) {
	if v4 {
		return inetAton(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// inetAton is glibc's inet_aton for what the lexer lets through: four
// dotted parts, each decimal, or octal with a leading 0 (so 010.0.0.1 is
// 8.0.0.1 and 09.0.0.1 is invalid), and nothing after them (a "/24"
// suffix makes it fail).
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, part := range parts {
		base := 10
		if len(part) > 1 && part[0] == '0' {
			base = 8
		}
		v, err := strconv.ParseUint(part, base, 8)
		if err != nil {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), true
}

func (p *parser) filterLine() {
	kernel := false
	if p.peek().is("From") {
		p.advance()
		w := p.advance()
		switch {
		case w.is("Userspace"):
		case w.is("Kernelspace"):
			kernel = true
		default:
			p.syntaxError(w)
		}
	}
	p.block(func(token) {
		kind := p.advance()
		if !kind.is("Protocol") && !kind.is("Address") && !kind.is("State") {
			p.syntaxError(kind)
		}
		pol := p.advance()
		if !pol.is("Accept") && !pol.is("Ignore") {
			p.syntaxError(pol)
		}
		accept := pol.text == "Accept"
		switch kind.text {
		case "Protocol":
			f := p.filter.Protocols
			if f == nil {
				f = &ProtoFilter{}
			}
			p.block(func(token) { p.protoItem(f) })
			f.Accept, p.filter.Protocols = accept, f
		case "Address":
			f := p.filter.Addresses
			if f == nil {
				f = &AddrFilter{}
			}
			p.block(func(token) { p.addrItem(f) })
			f.Accept, p.filter.Addresses = accept, f
		case "State":
			f := p.filter.States
			if f == nil {
				f = &StateFilter{}
			}
			p.block(func(token) { p.stateGroup(f) })
			f.Accept, p.filter.States = accept, f
		}
	})
	// Each Filter block sets where filtering happens (yy:1075-1088).
	p.filter.Kernelspace = kernel
}

func (p *parser) protoItem(f *ProtoFilter) {
	t := p.advance()
	name := t.text
	switch {
	case t.kind == tokString:
	case t.is("TCP"):
		name = "tcp"
	case t.is("UDP"):
		name = "udp"
	default:
		p.syntaxError(t)
	}
	n, ok := protocols()[name]
	if !ok {
		p.note(t.line, "getprotobyname() cannot find protocol `%s' in /etc/protocols", name)
		return
	}
	for _, have := range f.Protos {
		if have == n {
			return
		}
	}
	f.Protos = append(f.Protos, n)
}

func (p *parser) addrItem(f *AddrFilter) {
	t := p.advance()
	v4 := t.is("IPv4_address")
	if !v4 && !t.is("IPv6_address") {
		p.syntaxError(t)
	}
	v := p.expectKind(tokIP)
	ip, max := v.text, 128
	if v4 {
		max = 32
	}
	bits := max
	if i := strings.IndexByte(v.text, '/'); i >= 0 {
		ip = v.text[:i]
		c := atoi(v.text[i+1:])
		// The IPv4 cidr is unsigned, so a wrapped negative value is
		// too large; the IPv6 one is signed.
		if (v4 && uint32(c) > 32) || (!v4 && c > 128) {
			p.note(v.line, "%s/%d is not a valid network, ignoring", ip, c)
			return
		}
		if c < 0 {
			p.note(v.line, "%s/%d has a negative prefix length, ignoring", ip, c)
			return
		}
		bits = int(c)
	}
	a, ok := parseAddr(ip, v4)
	if !ok {
		fam := "IPv6"
		if v4 {
			fam = "IPv4"
		}
		p.note(v.line, "%s is not a valid %s, ignoring", ip, fam)
		return
	}
	pf := netip.PrefixFrom(a, bits).Masked()
	for _, have := range f.Prefixes {
		if have == pf {
			// Only the IPv4 netmask pool reports a repeat reliably
			// (research §3.2); repeated hosts are silent.
			if v4 && bits < max {
				p.note(v.line, "netmask %s is repeated in the ignore pool", ip)
			}
			return
		}
	}
	f.Prefixes = append(f.Prefixes, pf)
}

var tcpStates = map[string]conntrack.TCPState{
	"SYN_SENT": conntrack.TCPSynSent, "SYN_RECV": conntrack.TCPSynRecv,
	"ESTABLISHED": conntrack.TCPEstablished, "FIN_WAIT": conntrack.TCPFinWait,
	"CLOSE_WAIT": conntrack.TCPCloseWait, "LAST_ACK": conntrack.TCPLastAck,
	"TIME_WAIT": conntrack.TCPTimeWait, "CLOSE": conntrack.TCPClose,
	"CLOSED": conntrack.TCPClose,
	// TCP_CONNTRACK_LISTEN is the kernel's SYN_SENT2 slot.
	"LISTEN": conntrack.TCPSynSent2,
}

// stateGroup is filter_state_item: tcp_states "for" "TCP".
func (p *parser) stateGroup(f *StateFilter) {
	for {
		t := p.advance()
		if t.is("for") {
			p.expectKeyword("TCP")
			return
		}
		s, ok := tcpStates[t.text]
		if t.kind != tokKeyword || !ok {
			p.syntaxError(t)
		}
		dup := false
		for _, have := range f.States {
			dup = dup || have == s
		}
		if !dup {
			f.States = append(f.States, s)
		}
	}
}

// The bison stack of conntrackd's parser holds at most YYMAXDEPTH
// (10000) entries; only nested helper Type blocks can fill it. At the
// Helper section's list it holds 4 (state 0, Helper, '{', helper_list).
const yyMaxDepth = 10000

func (p *parser) push(n int, t token) {
	p.depth += n
	if p.depth >= yyMaxDepth {
		p.fail(t.line, fmt.Sprintf("parsing config file in line (%d), symbol '%s': memory exhausted", t.line, t.text))
	}
}

func (p *parser) helperSection(kw token) {
	p.depth = 4
	p.block(func(token) {
		t := p.peek()
		if t.is("Setup") {
			p.advance()
			p.boolean()
			return
		}
		p.helperType()
	})
	p.note(kw.line, "conntrackd's userspace helpers mean nothing to nfgo (it has its own), ignoring the Helper section")
}

// helperType is one helper_type: a Type block, QueueNum, QueueLen or
// Policy, which the grammar also allows directly under Helper and
// nested in a Type (research §2.5).
func (p *parser) helperType() {
	t := p.advance()
	switch {
	case t.is("Type"):
		p.push(1, t)
		name := p.expectKind(tokString)
		p.push(1, name)
		l3 := p.expectKind(tokString)
		p.push(1, l3)
		l4 := p.expectKind(tokString)
		p.push(1, l4)
		open := p.expectChar('{')
		p.push(2, open) // '{' and the empty helper_type_list
		for !p.peek().isChar('}') {
			p.helperType()
		}
		p.push(1, p.advance())
		p.depth -= 7
		// The checks run when the whole Type block is reduced.
		if l3.text != "inet" && l3.text != "inet6" {
			p.fail(0, "unknown layer 3 protocol")
		}
		if l4.text != "tcp" && l4.text != "udp" {
			p.fail(0, "unknown layer 4 protocol")
		}
		if !helperPlugins[name.text+"/"+l4.text] {
			p.fail(0, "Unknown `"+name.text+"' helper")
		}
		// The Type pops every item pushed on conntrackd's symbol
		// stack so far, last first, including Policy blocks written
		// outside it; each plug-in has one policy, named after it.
		for i := len(p.policies) - 1; i >= 0; i-- {
			if p.policies[i] != name.text {
				p.fail(0, "Unknown policy `"+p.policies[i]+"' in helper configuration")
			}
		}
		p.policies = p.policies[:0]
	case t.is("QueueNum"), t.is("QueueLen"):
		p.push(1, t)
		p.push(1, p.expectKind(tokNumber))
		p.depth -= 2
	case t.is("Policy"):
		p.push(1, t)
		name := p.expectKind(tokString)
		p.push(1, name)
		open := p.expectChar('{')
		p.push(2, open)
		set := false
		for !p.peek().isChar('}') {
			o := p.advance()
			if !o.is("ExpectMax") && !o.is("ExpectTimeout") {
				p.syntaxError(o)
			}
			p.push(1, o)
			p.push(1, p.expectKind(tokNumber))
			p.depth -= 2
			set = true
		}
		p.push(1, p.advance())
		p.depth -= 5
		if !set {
			p.fail(0, "Helper policy configuration empty, fix your configuration file, please")
		}
		if len(name.text) > 16 {
			p.fail(0, "Helper Policy is longer than 16 characters")
		}
		// snprintf into char name[16] keeps 15 bytes.
		p.policies = append(p.policies, name.text[:min(len(name.text), 15)])
	default:
		p.syntaxError(t)
	}
}

// helperPlugins are the ct_helper_*.so of conntrack-tools 1.4.7 and the
// layer 4 protocol each registers (helper_find matches both).
var helperPlugins = map[string]bool{
	"amanda/udp": true, "dhcpv6/udp": true, "ftp/tcp": true, "mdns/udp": true,
	"rpc/tcp": true, "rpc/udp": true, "sane/tcp": true, "slp/udp": true,
	"ssdp/udp": true, "ssdp/tcp": true, "tftp/udp": true, "tns/tcp": true,
}

// finish is what happens after parsing: conntrackd's evaluate() and the
// start-up steps that depend only on the file, then nfgo's own checks.
func (p *parser) finish() {
	c := &p.cfg
	if c.DisableExternalCache && p.commitSet {
		p.note(0, "`CommitTimeout' can't be combined with `DisableExternalCache', ignoring this option. Fix your configuration file.")
		c.CommitTimeout = 0
	}
	if c.ResendQueueSize == 0 {
		c.ResendQueueSize = DefaultResendQueueSize
	}
	if c.ACKWindowSize == 0 {
		c.ACKWindowSize = DefaultACKWindowSize
	}
	if c.PurgeTimeout == 0 {
		c.PurgeTimeout = DefaultPurgeTimeout
	}
	c.Filter = p.filter
	if !p.sawSync {
		if p.refusal == nil && !p.sawStats {
			p.refuse(0, "no Sync section: nothing to synchronise")
		}
		return
	}
	// sync-mode.c init_sync: FTFW if any FTFW block, then ALARM
	// (refused above), then NOTRACK.
	switch {
	case p.modes[0]:
		c.Mode = ModeFTFW
	case p.modes[1]:
		c.Mode = ModeNOTRACK
	case !p.modes[2]:
		p.note(0, "No synchronization mode specified. Defaulting to FT-FW mode.")
		c.Mode = ModeFTFW
	}
	if len(p.chans) == 0 {
		p.refuse(p.syncLine, "the Sync section has no UDP or Multicast block, so conntrackd cannot open a channel")
		return
	}
	ch := p.chans[0]
	t := ch.t
	t.Kind = ch.kind
	switch ch.family {
	case 4:
		t.Local, t.Peer = ch.local4, ch.peer4
	case 6:
		t.Local, t.Peer = ch.local6, ch.peer6
	}
	if ch.kind == "Multicast" {
		t.Peer = netip.Addr{}
	}
	c.Transport = t
	switch {
	case ch.kind == "TCP":
	case t.Interface == "":
		p.refuse(ch.line, "the %s block has no Interface, so conntrackd cannot open the channel", ch.kind)
	case ch.ifaceLong:
		p.refuse(ch.line, "interface name %q is longer than 15 bytes", t.Interface)
	case !t.Local.IsValid():
		p.refuse(ch.line, "the %s block has no valid IPv4_address or IPv6_address", ch.kind)
	case ch.kind == "Multicast" && !t.Local.IsMulticast():
		p.refuse(ch.line, "%s is not a multicast group address", t.Local)
	case ch.kind == "UDP" && !t.Peer.IsValid():
		p.refuse(ch.line, "the UDP block has no valid %s destination address", map[int]string{4: "IPv4_Destination_Address", 6: "IPv6_Destination_Address"}[ch.family])
	}
}

// builtinProtocols are the /etc/protocols names (and their aliases,
// which getprotobyname also matches, case-sensitively) nfgo can filter
// on, for hosts without the file.
var builtinProtocols = map[string]uint8{
	"icmp": 1, "ICMP": 1, "tcp": 6, "TCP": 6, "udp": 17, "UDP": 17,
	"dccp": 33, "DCCP": 33, "gre": 47, "GRE": 47,
	"esp": 50, "IPSEC-ESP": 50, "ah": 51, "IPSEC-AH": 51,
	"ipv6-icmp": 58, "IPv6-ICMP": 58, "sctp": 132, "SCTP": 132,
	"udplite": 136, "UDPLite": 136,
}

// protocols is the table getprotobyname would search: /etc/protocols
// when the host has it, as conntrackd reads it, else the built-in one.
var protocols = sync.OnceValue(func() map[string]uint8 {
	f, err := os.Open("/etc/protocols")
	if err != nil {
		return builtinProtocols
	}
	defer f.Close()
	m := map[string]uint8{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.ParseUint(fields[1], 10, 8)
		if err != nil {
			continue
		}
		for i, name := range fields {
			if i == 1 {
				continue
			}
			if _, dup := m[name]; !dup {
				m[name] = uint8(n)
			}
		}
	}
	if len(m) == 0 {
		return builtinProtocols
	}
	return m
})
