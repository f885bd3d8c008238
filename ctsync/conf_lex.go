package ctsync

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The lexer reproduces conntrackd 1.4.7's flex scanner (read_config_lex.l):
// at each position the longest match wins and a tie goes to the rule
// listed first. The rules' order is keywords, booleans, unsigned and
// signed integers, IPv4, IPv6, path, mode names, generic string, then
// comment/whitespace/newline and a catch-all single byte.

type tokKind uint8

const (
	tokEOF     tokKind = iota // end of input, or a NUL byte (bison's token 0)
	tokChar                   // the catch-all: one byte, e.g. '{' or ';'
	tokKeyword                // an exact keyword; text is the keyword
	tokOn                     // T_ON: on/yes in any case (and '|' quirks)
	tokOff                    // T_OFF: off/no
	tokNumber                 // T_NUMBER: unsigned digits, val is atoi's value
	tokSigned                 // T_SIGNED_NUMBER: [+-]digits
	tokIP                     // T_IP: IPv4- or IPv6-shaped text
	tokPath                   // T_PATH_VAL: '/' up to space, '"' or newline
	tokAlarm                  // T_ALARM (alarm, or the legacy persistenT)
	tokFTFW                   // T_FTFW (ftfw, or the legacy nack)
	tokNotrack                // T_NOTRACK
	tokString                 // T_STRING: a letter, then [A-Za-z0-9._-]
)

type token struct {
	kind tokKind
	text string // yytext, which conntrackd prints as the error's symbol
	val  int32  // for numbers: C atoi, i.e. strtol truncated to int
	line int    // yylineno after the token was scanned
}

func (t token) is(kw string) bool { return t.kind == tokKeyword && t.text == kw }

func (t token) isChar(c byte) bool { return t.kind == tokChar && t.text == string(c) }

// keywords are lex:63-144, matched case-sensitively and exactly.
var keywords = []string{
	"UNIX", "IPv4_address", "IPv6_address", "IPv4_Destination_Address",
	"IPv6_Destination_Address", "IPv4_interface", "IPv6_interface",
	"Interface", "Multicast", "UDP", "TCP", "HashSize", "RefreshTime",
	"CacheTimeout", "CommitTimeout", "HashLimit", "Path", "Backlog", "Group",
	"Port", "LogFile", "Syslog", "LockFile", "General", "Sync", "Stats",
	"SocketBufferSize", "SocketBufferSizeMaxGrown", "SocketBufferSizeMaxGrowth",
	"NetlinkBufferSize", "NetlinkBufferSizeMaxGrowth", "Mode",
	"ResendQueueSize", "Checksum", "ACKWindowSize", "for", "SYN_SENT",
	"SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
	"TIME_WAIT", "CLOSE", "CLOSED", "LISTEN", "SndSocketBuffer",
	"RcvSocketBuffer", "Filter", "Protocol", "Address", "State", "Accept",
	"Ignore", "PurgeTimeout", "From", "Userspace", "Kernelspace",
	"EventIterationLimit", "Default", "PollSecs", "NetlinkOverrunResync",
	"Nice", "Scheduler", "Type", "Priority", "NetlinkEventsReliable",
	"DisableInternalCache", "DisableExternalCache", "Options",
	"TCPWindowTracking", "ExpectationSync", "ErrorQueueLength", "Helper",
	"QueueNum", "QueueLen", "Policy", "ExpectMax", "ExpectTimeout",
	"Systemd", "StartupResync", "Setup",
}

// lexRule is one flex rule after the keywords. The patterns are the
// definitions of lex:32-60 expanded; the bracket classes keep flex's
// literal '|' (e.g. [o|O]), which is why "||" is a boolean.
type lexRule struct {
	kind tokKind
	re   *regexp.Regexp
	warn string // what the rule's action logs (the legacy mode names)
}

func anchored(expr string) *regexp.Regexp {
	re := regexp.MustCompile(`^(?:` + expr + `)`)
	re.Longest()
	return re
}

const (
	hex255   = `[0-9a-fA-F]{1,4}`
	ip6Part  = hex255 + `:?`
	ip6Cidr  = `(?:/[0-1]*[0-9]*[0-9]+)?`
	ip6Form1 = `(?:` + ip6Part + `){0,7}::(?:` + ip6Part + `){0,7}`
	ip6Form2 = `(?:` + hex255 + `:){0,7}` + hex255
	ip4Part  = `[0-2]*[0-9]*[0-9]+`
)

var lexRules = []lexRule{
	{tokOn, anchored(`[o|O][n|N]|[y|Y][e|E][s|S]`), ""},
	{tokOff, anchored(`[o|O][f|F][f|F]|[n|N][o|O]`), ""},
	{tokNumber, anchored(`[0-9]+`), ""},
	{tokSigned, anchored(`[-+][0-9]+`), ""},
	{tokIP, anchored(ip4Part + `\.` + ip4Part + `\.` + ip4Part + `\.` + ip4Part + `(?:/[0-2]*[0-9]+)?`), ""},
	{tokIP, anchored(ip6Form1 + ip6Cidr + `|` + ip6Form2 + ip6Cidr), ""},
	{tokPath, anchored(`/[^"\n ]*`), ""},
	{tokAlarm, anchored(`[A|a][L|l][A|a][R|r][M|m]`), ""},
	// persistent's last class is [T|T] in lex:56: lower-case t is not
	// accepted, so "persistent" is a generic string there.
	{tokAlarm, anchored(`[P|p][E|e][R|r][S|s][I|i][S|s][T|t][E|e][N|n][T|T]`),
		"Now `persistent' mode is called `alarm'. Please, update your conntrackd.conf file."},
	{tokFTFW, anchored(`[F|f][T|t][F|f][W|w]`), ""},
	{tokFTFW, anchored(`[N|n][A|a][C|c][K|k]`),
		"Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file."},
	{tokNotrack, anchored(`[N|n][O|o][T|t][R|r][A|a][C|c][K|k]`), ""},
	{tokString, anchored(`[a-zA-Z][a-zA-Z0-9._\-]*`), ""},
}

type lexer struct {
	data  []byte
	pos   int
	line  int
	notes *[]Note
}

// next scans one token as yylex does. It never fails: a byte no rule
// takes becomes a tokChar, and the parser rejects it.
func (l *lexer) next() token {
	for {
		if l.pos >= len(l.data) {
			return token{kind: tokEOF, line: l.line}
		}
		rest := l.data[l.pos:]
		switch c := rest[0]; {
		case c == ' ' || c == '\t':
			l.pos++
			continue
		case c == '\n':
			// %option yylineno counts '\n' only; a bare '\r' is
			// skipped without counting (lex:34), so CR-only files
			// report everything on line 1.
			l.pos++
			l.line++
			continue
		case c == '\r':
			l.pos++
			continue
		case c == '#':
			// {comment} is #.*$ and flex's '$' needs a following
			// '\n': a comment on a last line without one is not a
			// comment, and '#' falls to the catch-all.
			if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
				l.pos += nl
				continue
			}
		}
		n, kind, warn := 0, tokChar, ""
		for _, kw := range keywords {
			if len(kw) > n && bytes.HasPrefix(rest, []byte(kw)) {
				n, kind = len(kw), tokKeyword
			}
		}
		for _, r := range lexRules {
			if loc := r.re.FindIndex(rest); loc != nil && loc[1] > n {
				n, kind, warn = loc[1], r.kind, r.warn
			}
		}
		if n == 0 {
			l.pos++
			if rest[0] == 0 {
				// The catch-all returns yytext[0]; a NUL is token 0,
				// which bison takes as the end of input, and yytext
				// prints as the empty string.
				return token{kind: tokEOF, line: l.line}
			}
			return token{kind: tokChar, text: string(rest[:1]), line: l.line}
		}
		t := token{kind: kind, text: string(rest[:n]), line: l.line}
		l.pos += n
		if kind == tokNumber || kind == tokSigned {
			t.val = atoi(t.text)
		}
		if warn != "" {
			// The lexer's action logs while scanning, so the warning
			// comes even when the parser then rejects the token.
			l.note(t.line, warn)
		}
		return t
	}
}

func (l *lexer) note(line int, text string) {
	*l.notes = append(*l.notes, Note{Line: line, Text: text})
}

// atoi is glibc's atoi on LP64: strtol, which saturates at the long
// range, truncated to a 32-bit int. So 4294967296 is 0 and 2147483648 is
// -2147483648 (research tests b07, b08).
func atoi(s string) int32 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if strings.HasPrefix(s, "-") {
			v = math.MinInt64
		} else {
			v = math.MaxInt64
		}
	}
	return int32(v)
}

// cString is what a C string function sees of a token: up to its first
// NUL. A path may hold NUL bytes, since [^"\n ] takes them.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
