package helpers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The module parameters, by the kernel's names. A parameter is written
// MODULE.NAME=VALUE, as on the kernel's command line
// (nf_conntrack_ftp.loose=1), with or without the nf_conntrack_ prefix
// (ftp.loose=1). The kernel's ports= parameters have no equivalent:
// helpers are attached by CT --helper rules, not by port.
var params = []struct {
	module, name string
	doc          string
	set          func(c *Config, v string) error
}{
	{"ftp", "loose", "1: expect data connections at any address a command names, not only its sender's", boolParam(func(c *Config) *bool { return &c.FTPLoose }, false)},
	{"irc", "max_dcc_channels", "DCC offers one IRC connection may have waiting (default 8)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 255 {
			return fmt.Errorf("max_dcc_channels must be between 1 and 255")
		}
		c.IRCMaxDCCChannels = n
		return nil
	}},
	{"irc", "dcc_timeout", "seconds a DCC offer waits (default 300)", secondsParam(func(c *Config) *time.Duration { return &c.IRCDCCTimeout })},
	{"sip", "sip_timeout", "seconds the signalling expectation lives (default 3600)", secondsParam(func(c *Config) *time.Duration { return &c.SIPTimeout })},
	{"sip", "sip_direct_signalling", "0: expect a REGISTER's signalling from any address (default 1)", boolParam(func(c *Config) *bool { return &c.SIPIndirectSignalling }, true)},
	{"sip", "sip_direct_media", "0: expect media from any address (default 1)", boolParam(func(c *Config) *bool { return &c.SIPIndirectMedia }, true)},
	{"sip", "sip_external_media", "1: expect no media reached through the signalling's own interface (default 0)", boolParam(func(c *Config) *bool { return &c.SIPExternalMedia }, false)},
	{"amanda", "master_timeout", "seconds the Amanda control connection is kept (default 300)", secondsParam(func(c *Config) *time.Duration { return &c.AmandaMasterTimeout })},
	{"netbios_ns", "timeout", "seconds a name query waits for answers (default 3)", secondsParam(func(c *Config) *time.Duration { return &c.NetBIOSNSTimeout })},
	{"snmp", "timeout", "seconds an SNMP request waits for its answer (default 30)", secondsParam(func(c *Config) *time.Duration { return &c.SNMPTimeout })},
}

// boolParam sets a boolean parameter given as 0 or 1 (Y or N); inverted
// fields are named for the setting that is not the kernel's default.
func boolParam(field func(*Config) *bool, inverted bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		var on bool
		switch strings.ToUpper(v) {
		case "1", "Y":
			on = true
		case "0", "N":
		default:
			return fmt.Errorf("want 0 or 1, got %q", v)
		}
		*field(c) = on != inverted
		return nil
	}
}

func secondsParam(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil || n == 0 {
			return fmt.Errorf("want a number of seconds above 0, got %q", v)
		}
		*field(c) = time.Duration(n) * time.Second
		return nil
	}
}

// ParseParam sets one module parameter, given as MODULE.NAME=VALUE
// (nf_conntrack_irc.max_dcc_channels=4, or irc.max_dcc_channels=4).
func ParseParam(c *Config, s string) error {
	key, v, ok := strings.Cut(s, "=")
	mod, name, ok2 := strings.Cut(key, ".")
	if !ok || !ok2 {
		return fmt.Errorf("helper parameter %q: want MODULE.NAME=VALUE, e.g. ftp.loose=1", s)
	}
	mod = strings.TrimPrefix(mod, "nf_conntrack_")
	mod = strings.ReplaceAll(mod, "-", "_")
	for _, p := range params {
		if p.module == mod && p.name == name {
			if err := p.set(c, v); err != nil {
				return fmt.Errorf("helper parameter %s.%s: %v", mod, name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("helper parameter %q: no such parameter (see nfgo replay -h)", key)
}

// ParamsHelp describes every parameter, one a line, for a command's
// usage text.
func ParamsHelp() string {
	var b strings.Builder
	for _, p := range params {
		fmt.Fprintf(&b, "  %s.%s: %s\n", p.module, p.name, p.doc)
	}
	return b.String()
}
