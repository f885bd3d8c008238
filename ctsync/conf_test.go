package ctsync

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
)

// syncUDP is a minimal Sync section nfgo accepts.
const syncUDP = `Sync {
	Mode FTFW {
	}
	UDP {
		IPv4_address 192.168.100.100
		IPv4_Destination_Address 192.168.100.101
		Port 3780
		Interface eth2
	}
}
`

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/conf/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDebianExamplesParse(t *testing.T) {
	wantFilter := Filter{
		Protocols: &ProtoFilter{Accept: true, Protos: []uint8{6, 132, 33}},
		Addresses: &AddrFilter{Prefixes: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.1/32"),
			netip.MustParsePrefix("192.168.0.100/32"),
			netip.MustParsePrefix("192.168.1.100/32"),
			netip.MustParsePrefix("192.168.0.1/32"),
			netip.MustParsePrefix("192.168.1.1/32"),
			netip.MustParsePrefix("192.168.100.100/32"),
		}},
	}
	wantTransport := Transport{
		Kind:          "Multicast",
		Local:         netip.MustParseAddr("225.0.0.50"),
		Interface:     "eth2",
		InterfaceAddr: netip.MustParseAddr("192.168.100.100"),
		Port:          3780,
		SndBuffer:     1249280,
		RcvBuffer:     1249280,
		Checksum:      true,
	}
	for _, tc := range []struct {
		file string
		mode Mode
	}{
		{"ftfw.conf", ModeFTFW},
		{"notrack.conf", ModeNOTRACK},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, notes, err := ReadConfig(readFile(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want := &Config{
				Mode:            tc.mode,
				ResendQueueSize: DefaultResendQueueSize,
				ACKWindowSize:   DefaultACKWindowSize,
				PurgeTimeout:    DefaultPurgeTimeout,
				Transport:       wantTransport,
				Filter:          wantFilter,
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
			}
			// Every General setting but the Filter is ignored.
			var ignored []string
			for _, n := range notes {
				ignored = append(ignored, strings.Fields(n.Text)[0])
			}
			wantIgnored := []string{"`HashSize'", "`HashLimit'", "`LogFile'", "`LockFile'", "`UNIX'", "`NetlinkBufferSize'", "`NetlinkBufferSizeMaxGrowth'"}
			if !reflect.DeepEqual(ignored, wantIgnored) {
				t.Errorf("notes %v, want one for each of %v", notes, wantIgnored)
			}
		})
	}
}

func TestReadConfigCapturesSyncSettings(t *testing.T) {
	conf := `Sync {
	Mode FTFW {
		ResendQueueSize 4294967296
		ACKWindowSize 10
		CommitTimeout 7
		PurgeTimeout 9
		StartupResync on
	}
	Options {
		TCPWindowTracking YeS
		ExpectationSync {
			ftp FTP sip
		}
	}
	UDP Default {
		IPv6_address fd00::1
		IPv6_Destination_Address fd00::2
		Port 70000
		Interface eth2
		Checksum oFF
		SndSocketBuffer 1024
	}
}
General {
	Filter From Kernelspace {
		Protocol Ignore { udp IPv6-ICMP }
		Address Accept {
			IPv4_address 10.1.2.3/8
			IPv6_address fd00::/64
			IPv4_address 010.0.0.1
		}
		State Ignore {
			SYN_SENT CLOSED for TCP
			LISTEN for TCP
		}
		Protocol Accept { TCP }
	}
}
`
	cfg, _, err := ReadConfig([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Mode:               ModeFTFW,
		ResendQueueSize:    DefaultResendQueueSize, // 2^32 wraps to 0, the default
		ACKWindowSize:      10,
		CommitTimeout:      7 * time.Second,
		PurgeTimeout:       9 * time.Second,
		StartupResync:      true,
		TCPWindowTracking:  true,
		ExpectationSync:    true,
		ExpectationHelpers: []string{"ftp", "sip"},
		Transport: Transport{
			Kind:          "UDP",
			Local:         netip.MustParseAddr("fd00::1"),
			Peer:          netip.MustParseAddr("fd00::2"),
			Interface:     "eth2",
			InterfaceAddr: netip.IPv4Unspecified(),
			Port:          4464, // unsigned short
			SndBuffer:     1024,
			Default:       true,
		},
		Filter: Filter{
			Kernelspace: true,
			// Lists add up; the last item's policy wins.
			Protocols: &ProtoFilter{Accept: true, Protos: []uint8{17, 58, 6}},
			Addresses: &AddrFilter{Accept: true, Prefixes: []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("fd00::/64"),
				netip.MustParsePrefix("8.0.0.1/32"), // inet_aton reads octal
			}},
			States: &StateFilter{States: []conntrack.TCPState{conntrack.TCPSynSent, conntrack.TCPClose, conntrack.TCPSynSent2}},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestReadConfigRejectsWhatConntrackdRejects(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		line       int
		want       string
	}{
		{"unknown directive", "# comment\nGeneral {\n\tHashSize 8192\n\n\tFooBar 1\n}\n", 5,
			"parsing config file in line (5), symbol 'FooBar': syntax error"},
		{"keywords are case-sensitive", "general {\n}\n", 1,
			"parsing config file in line (1), symbol 'general': syntax error"},
		{"semicolon", "General {\n\tHashSize 8192;\n}\n", 2,
			"parsing config file in line (2), symbol ';': syntax error"},
		{"no quoted strings", "General {\n\tLogFile \"/var/log/x.log\"\n}\n", 2,
			"parsing config file in line (2), symbol '\"': syntax error"},
		{"tab then comment after a path", "General {\n\tLockFile /run/lock/t.lock\t# the lock\n}\n", 2,
			"parsing config file in line (2), symbol 'the': syntax error"},
		{"hex word is an IP token", "Sync {\n\tMulticast {\n\t\tInterface abc\n\t}\n}\n", 3,
			"parsing config file in line (3), symbol 'abc': syntax error"},
		{"Nice needs a sign", "General {\n\tNice 5\n}\n", 2,
			"parsing config file in line (2), symbol '5': syntax error"},
		{"lower-case persistent", "Sync {\n\tMode persistent {\n\t}\n}\n", 2,
			"parsing config file in line (2), symbol 'persistent': syntax error"},
		{"no hex numbers", "General {\n\tHashSize 0x10\n}\n", 2,
			"parsing config file in line (2), symbol 'x10': syntax error"},
		{"CR does not count lines", "General {\r\tHashSize 1\r\tBogus 2\r}\r", 1,
			"parsing config file in line (1), symbol 'Bogus': syntax error"},
		{"comment on the last line without newline", "General {\n}\n# end", 3,
			"parsing config file in line (3), symbol '#': syntax error"},
		{"truncated file", "General {\n\tHashSize 1\n\n", 4,
			"parsing config file in line (4), symbol '': syntax error"},
		{"missing value reports the next token", "General {\n\tLogFile\n\n\n}\n", 5,
			"parsing config file in line (5), symbol '}': syntax error"},
		{"NUL inside a section", "General {\n\tHashSize 1\x00\n}\n", 2,
			"parsing config file in line (2), symbol '': syntax error"},
		{"number in a protocol list", "General {\n\tFilter {\n\t\tProtocol Accept {\n\t\t\tTCP\n6\n}}}\n", 5,
			"parsing config file in line (5), symbol '6': syntax error"},
		{"Mode needs braces", "Sync {\n\tMode FTFW\n}\n", 3,
			"parsing config file in line (3), symbol '}': syntax error"},
		{"ACKWindowSize is FTFW's", "Sync {\n\tMode NOTRACK {\n\t\tACKWindowSize 5\n\t}\n}\n", 3,
			"parsing config file in line (3), symbol 'ACKWindowSize': syntax error"},
		{"embedded IPv4 in IPv6", "Sync {\n\tUDP {\n\t\tIPv6_address ::ffff:1.2.3.4\n\t}\n}\n", 3,
			"parsing config file in line (3), symbol '.': syntax error"},
		{"obsolete keyword", "IgnoreProtocol {\n\tUDP\n}\n", 1,
			"parsing config file in line (1), symbol 'IgnoreProtocol': syntax error"},
		{"both Stats and Sync", "Stats {\n}\nSync {\n}\n", 0,
			"cannot use both `Stats' and `Sync' clauses in conntrackd.conf"},
		{"mixed transports", "Sync {\n\tMulticast {\n\t}\n\tUDP {\n\t}\n}\n", 0,
			"cannot use `UDP' with other dedicated link protocols!"},
		{"five links", strings.Repeat("Sync { Multicast { Interface eth2 } }\n", 5), 0,
			"too many dedicated links in the configuration file (Maximum: 4)"},
		{"PollSecs wraps to 0", "General {\n\tPollSecs 4294967296\n}\n", 0, "`PollSecs' clause must be > 0"},
		{"unknown scheduler", "General {\n\tScheduler {\n\t\tType other\n\t}\n}\n", 0, "unknown scheduler `other'"},
		{"priority wraps negative", "General {\n\tScheduler {\n\t\tPriority 2147483648\n\t}\n}\n", 0, "`Priority' must be [0, 99]"},
		{"long LockFile", "General {\n\tLockFile /" + strings.Repeat("a", 256) + "\n}\n", 0,
			"LockFile path is longer than 256 characters"},
		{"long UNIX path", "General {\n\tUNIX {\n\t\tPath /" + strings.Repeat("a", 107) + "\n\t}\n}\n", 0,
			"Path is longer than 107 characters"},
		{"helper for the wrong protocol", "Helper {\n\tType ftp inet udp {\n\t}\n}\n", 0, "Unknown `ftp' helper"},
		{"helper layer 3", "Helper {\n\tType ftp ip tcp {\n\t}\n}\n", 0, "unknown layer 3 protocol"},
		{"empty helper policy", "Helper {\n\tType ftp inet tcp {\n\t\tPolicy ftp {\n\t\t}\n\t}\n}\n", 0,
			"Helper policy configuration empty, fix your configuration file, please"},
		{"deep helpers exhaust bison's stack", "Helper {\n" + strings.Repeat("Type ftp inet tcp {\n", 2000), 1667,
			"parsing config file in line (1667), symbol '{': memory exhausted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadConfig([]byte(tc.conf))
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want a *ConfigError wrapping ErrConfig", err)
			}
			if ce.Error() != tc.want || ce.Line != tc.line || ce.Nfgo {
				t.Errorf("got line %d %q (nfgo %v), want line %d %q", ce.Line, ce.Error(), ce.Nfgo, tc.line, tc.want)
			}
		})
	}
}

func TestReadConfigRefusesWhatNfgoCannotHonour(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		want       string
	}{
		{"ALARM", "Sync {\n\tMode ALARM {\n\t}\n\tUDP {\n\t\tInterface eth2\n\t}\n}\n",
			"conntrackd.conf line 2: nfgo does not implement ALARM mode; use FTFW or NOTRACK"},
		{"legacy persistenT is ALARM", "Sync {\n\tMode PERSISTENT {\n\t}\n}\n",
			"conntrackd.conf line 2: nfgo does not implement ALARM mode; use FTFW or NOTRACK"},
		{"TCP", "Sync {\n\tMode FTFW {\n\t}\n\n\tTCP {\n\t\tInterface eth2\n\t}\n}\n",
			"conntrackd.conf line 5: nfgo does not implement the TCP transport; use UDP or Multicast"},
		{"Stats", "General {\n}\nStats {\n\tLogFile on\n}\n",
			"conntrackd.conf line 3: nfgo has no statistics mode (Stats); use Sync"},
		{"DisableInternalCache", "Sync {\n\tMode NOTRACK {\n\t\tDisableInternalCache on\n\t}\n}\n",
			"conntrackd.conf line 3: nfgo always keeps its internal cache; DisableInternalCache on cannot be honoured"},
		{"second link", strings.TrimSuffix(syncUDP, "}\n") + "\tUDP {\n\t\tInterface eth3\n\t}\n}\n",
			"conntrackd.conf line 10: nfgo supports one dedicated link; remove this extra UDP block"},
		{"no transport", "\nSync {\n\tMode FTFW {\n\t}\n}\n",
			"conntrackd.conf line 2: the Sync section has no UDP or Multicast block, so conntrackd cannot open a channel"},
		{"no interface", "Sync {\n\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t}\n}\n",
			"conntrackd.conf line 2: the Multicast block has no Interface, so conntrackd cannot open the channel"},
		{"ExpectationSync on then off", "Sync {\n\tOptions {\n\t\tExpectationSync on\n\t\tExpectationSync off\n\t}\n}\n",
			"conntrackd.conf line 4: ExpectationSync off after ExpectationSync on makes conntrackd 1.4.7 abort; keep one of them"},
		// conntrackd's own errors come first, even later in the file.
		{"syntax error after a refusal", "Sync {\n\tMode ALARM {\n\t}\n}\nGeneral {\n\tBogus\n}\n",
			"parsing config file in line (6), symbol 'Bogus': syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadConfig([]byte(tc.conf))
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadConfigNotesIgnoredSettingsAndWarnings(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		want       Note
	}{
		{"HashSize", "General {\n\tHashSize 8192\n}\n", Note{2, "`HashSize' means nothing to nfgo (nfgo sizes its own connection table), ignoring"}},
		{"lock file", "General {\n\tLockFile /run/x.lock\n}\n", Note{2, "`LockFile' means nothing to nfgo (nfgo run takes no lock file), ignoring"}},
		{"netlink buffer alias", "General {\n\tSocketBufferSizeMaxGrown 1\n}\n", Note{2, "`SocketBufferSizeMaxGrown' means nothing to nfgo (nfgo reads no netlink socket), ignoring"}},
		{"scheduler", "General {\n\tScheduler {\n\t\tType FIFO\n\t\tPriority 5\n\t}\n}\n", Note{2, "`Scheduler' means nothing to nfgo (nfgo leaves scheduling to its caller), ignoring"}},
		{"log file", "General {\n\tLogFile off\n}\n", Note{2, "`LogFile' means nothing to nfgo (nfgo logs through its caller), ignoring"}},
		{"syslog", "General {\n\tSyslog ||\n}\n", Note{2, "`Syslog' means nothing to nfgo (nfgo logs through its caller), ignoring"}},
		{"poll secs", "General {\n\tPollSecs 2\n}\n", Note{2, "`PollSecs' means nothing to nfgo (nfgo sees every event), ignoring"}},
		{"nice", "General {\n\tNice -20\n}\n", Note{2, "deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1)."}},
		{"systemd", "General {\n\tSystemd |||\n}\n", Note{2, "`Systemd' means nothing to nfgo (nfgo run reads no kernel events and does not notify systemd), ignoring"}},
		{"UNIX", "General {\n\tUNIX {\n\t\tPath /run/ct.sock\n\t}\n}\n", Note{2, "`UNIX' means nothing to nfgo (nfgo run's control socket is --control, which nfgo sync talks to), ignoring"}},
		{"UNIX backlog", "General {\n\tUNIX {\n\t\tBacklog 20\n\t}\n}\n", Note{3, "deprecated unix backlog configuration, ignoring."}},
		{"event iteration limit", "General {\n\tEventIterationLimit 5\n}\n", Note{2, "`EventIterationLimit' means nothing to nfgo (nfgo reads no netlink socket), ignoring"}},
		{"helper", "Helper {\n\tType ftp inet tcp {\n\t\tQueueNum 5\n\t}\n}\n", Note{1, "conntrackd's userspace helpers mean nothing to nfgo (it has its own), ignoring the Helper section"}},
		{"nack", "Sync {\n\tMode nack {\n\t}\n}\n", Note{2, "Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file."}},
		{"syslog facility", "General {\n\tSyslog DAEMON\n}\n", Note{2, "'DAEMON' is not a known syslog facility, ignoring"}},
		{"invalid IPv4", "Sync {\n\tUDP {\n\t\tIPv4_address 300.1.1.1\n\t}\n}\n", Note{3, "300.1.1.1 is not a valid IPv4 address"}},
		{"invalid filter IPv6", "General {\n\tFilter {\n\t\tAddress Ignore {\n\t\t\tIPv6_address 1.2.3.4\n\t\t}\n\t}\n}\n", Note{4, "1.2.3.4 is not a valid IPv6, ignoring"}},
		{"bad network", "General {\n\tFilter {\n\t\tAddress Ignore {\n\t\t\tIPv4_address 10.0.0.0/33\n\t\t}\n\t}\n}\n", Note{4, "10.0.0.0/33 is not a valid network, ignoring"}},
		{"unknown protocol", "General {\n\tFilter {\n\t\tProtocol Ignore {\n\t\t\tfoo\n\t\t}\n\t}\n}\n", Note{4, "getprotobyname() cannot find protocol `foo' in /etc/protocols"}},
		{"no mode", strings.Replace(syncUDP, "\tMode FTFW {\n\t}\n", "", 1), Note{0, "No synchronization mode specified. Defaulting to FT-FW mode."}},
		{"CommitTimeout with DisableExternalCache", strings.Replace(syncUDP, "FTFW {\n", "NOTRACK {\n\t\tCommitTimeout 180\n\t\tDisableExternalCache yes\n", 1),
			Note{0, "`CommitTimeout' can't be combined with `DisableExternalCache', ignoring this option. Fix your configuration file."}},
		{"ALARM timers", strings.Replace(syncUDP, "Sync {\n", "Sync {\n\tRefreshTime 5\n", 1), Note{2, "`RefreshTime' is an ALARM setting, ignoring"}},
		{"IPv6_interface", "Sync {\n\tMulticast {\n\t\tIPv6_interface ::1\n\t}\n}\n", Note{3, "`IPv6_interface' not required, ignoring"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := tc.conf
			if !strings.Contains(conf, "Sync") {
				conf += syncUDP
			}
			_, notes, _ := ReadConfig([]byte(conf))
			for _, n := range notes {
				if n == tc.want {
					return
				}
			}
			t.Errorf("notes %v, want %v", notes, tc.want)
		})
	}
}

func TestReadConfigAcceptsLexerQuirks(t *testing.T) {
	for _, tc := range []struct{ name, general string }{
		{"glued braces", "General{HashSize 8192}\n"},
		{"directive over lines", "General\n{\nHashSize\n\n8192\n}\n"},
		{"glued comment", "General {\n\tHashSize 8192#c\n}\n"},
		{"pipe booleans", "General {\n\tSystemd ||\n\tNetlinkEventsReliable |||\n}\n"},
		{"CRLF", "General {\r\n\tHashSize 1\r\n}\r\n"},
		{"NUL between sections ends the file", "General {\n}\n\x00garbage {{{"},
		{"empty file", ""},
		{"priority wraps to 5", "General {\n\tScheduler {\n\t\tPriority 4294967301\n\t}\n}\n"},
		{"saturated PollSecs is not 0", "General {\n\tPollSecs 18446744073709551616\n}\n"},
		{"signed Nice", "General {\n\tNice +3\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ReadConfig([]byte(tc.general + syncUDP)); err != nil && !strings.Contains(tc.general, "\x00") {
				t.Errorf("got %v", err)
			}
			if strings.Contains(tc.general, "\x00") {
				// Sync after the NUL is never read.
				_, _, err := ReadConfig([]byte(syncUDP + tc.general))
				if err != nil {
					t.Errorf("got %v", err)
				}
			}
		})
	}
}
