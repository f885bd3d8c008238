package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j LOG [--log-prefix P] [--log-level L] [--log-tcp-sequence]
// [--log-tcp-options] [--log-ip-options] [--log-uid] [--log-macdecode]
// (libxt_LOG.c).
func init() {
	register(&extension{
		name:   "LOG",
		target: true,
		parser: func(*ruleContext) extParser {
			return &logParser{t: filter.LogTarget{Level: filter.LogWarning}, seen: tgSeen{}}
		},
		save: saveLog,
		owns: ownedBy[filter.LogTarget](),
	})
}

// logLevels are the syslog level names iptables accepts (no "warn", no
// "err": only these spellings).
var logLevels = map[string]uint8{
	"alert": filter.LogAlert, "crit": filter.LogCrit, "debug": filter.LogDebug,
	"emerg": filter.LogEmerg, "error": filter.LogErr, "info": filter.LogInfo,
	"notice": filter.LogNotice, "panic": filter.LogEmerg, "warning": filter.LogWarning,
}

// logFlagOpts maps the flag options to their bits, in save order.
var logFlagOpts = []struct {
	name string
	flag filter.LogFlags
}{
	{"log-tcp-sequence", filter.LogTCPSeq},
	{"log-tcp-options", filter.LogTCPOpt},
	{"log-ip-options", filter.LogIPOpt},
	{"log-uid", filter.LogUID},
	{"log-macdecode", filter.LogMACDecode},
}

// logPrefixMax is the kernel's prefix size (30) less the NUL; iptables
// silently cuts a longer prefix.
const logPrefixMax = 29

type logParser struct {
	t    filter.LogTarget
	seen tgSeen
}

func (p *logParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "log-prefix", "log-level", "log-tcp-sequence", "log-tcp-options", "log-ip-options", "log-uid", "log-macdecode")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("LOG", name)
	}
	if err := p.seen.once("LOG", name); err != nil {
		return err
	}
	switch name {
	case "log-prefix":
		v, err := a.value(name)
		if err != nil {
			return err
		}
		if v == "" {
			return fmt.Errorf("%w: Argument must have a minimum length of 1 characters", ErrBadArgument)
		}
		if len(v) > logPrefixMax {
			v = v[:logPrefixMax]
		}
		if strings.ContainsRune(v, '\n') {
			return fmt.Errorf("%w: Newlines not allowed in --log-prefix", ErrBadArgument)
		}
		p.t.Prefix = v
	case "log-level":
		v, err := a.value(name)
		if err != nil {
			return err
		}
		if n, ok := strtoui(v, 0, 7); ok {
			p.t.Level = uint8(n)
		} else if l, ok := logLevels[v]; ok {
			p.t.Level = l
		} else {
			return fmt.Errorf("%w: log level \"%s\" unknown", ErrBadArgument, v)
		}
	default:
		for _, f := range logFlagOpts {
			if f.name == name {
				p.t.Flags |= f.flag
			}
		}
	}
	return nil
}

func (p *logParser) done() (any, error) {
	t := p.t
	return &t, nil
}

// saveLog prints what libxt_LOG's save prints: the prefix if any, the
// level unless it is the default (4), then the flags.
func saveLog(w *saver, x any) {
	t := x.(*filter.LogTarget)
	if t.Prefix != "" {
		w.opt(false, "log-prefix", quote(t.Prefix))
	}
	if t.Level != filter.LogWarning {
		w.opt(false, "log-level", strconv.Itoa(int(t.Level)))
	}
	for _, f := range logFlagOpts {
		if t.Flags&f.flag != 0 {
			w.opt(false, f.name, "")
		}
	}
}
