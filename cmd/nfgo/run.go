package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/ctsync"
	"github.com/nfgo/nfgo/daemon"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/nfq"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/sockdiag"
)

// defaultControl is where nfgo run listens for nfgo reload, counters and
// conntrack, and where those commands look for it.
const defaultControl = "/run/nfgo.sock"

// runCmd is nfgo run: the NFQUEUE verdict daemon.
func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", "", "IPv4 iptables-save `FILE`")
	rules6 := fs.String("rules6", "", "IPv6 ip6tables-save `FILE`")
	ipsets := ipsetsFlag(fs)
	nfacct := nfacctFlag(fs)
	osfPath := fs.String("osf", "", osfFlagUsage)
	queues := fs.String("queue", "0", "queue number `N`, or N:M for queues N to M (one goroutine each)")
	mode := fs.String("mode", "hook", "`hook`: judge each packet at the hook it was queued at (filtering);\npath: run its whole path at PREROUTING/OUTPUT, with nfgo's own conntrack and NAT;\neach-hook: queues at every hook, nfgo's own conntrack and NAT carried from hook to hook")
	failOpen := fs.Bool("fail-open", false, "accept packets the queue cannot take instead of dropping them")
	gso := fs.Bool("gso", false, "take GSO super-packets unsegmented (partial checksums are completed when rewritten)")
	copyRange := fs.Uint("copy-range", 0, "bytes of each packet to copy (0: all, up to 65531)")
	maxLen := fs.Uint("maxlen", 0, "queue length limit (0: the kernel's 1024)")
	snapshot := fs.String("snapshot", "", "conntrack snapshot `FILE`: restored at start, saved at SIGTERM")
	nflogDir := fs.String("nflog-dir", "", "write NFLOG's packets to `DIR`/nflog-GROUP.pcapng, the prefix as each packet's comment")
	control := fs.String("control", defaultControl, "control socket `PATH` (empty: none)")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on `ADDR` (host:port) at /metrics")
	deadline := fs.Duration("deadline", time.Second, "watchdog: give a batch still undecided after this long the default verdict")
	defVerdict := fs.String("default-verdict", "accept", "the watchdog's verdict: accept or drop")
	syncConf := fs.String("sync", "", "state sync with an HA peer by conntrackd's protocol, configured by a conntrackd.conf `FILE` (its Sync section and General filter; needs --mode path or each-hook)")
	adopt := fs.Bool("adopt-kernel", false, "at start, take the kernel's connections (NAT bindings included) into nfgo's table and follow the kernel's changes until nfgo carries them: switching from the kernel firewall drops nothing (needs --mode path or each-hook)")
	handoff := fs.Bool("handoff-kernel", false, "at shutdown, write nfgo's connections into the kernel's table with their NAT bindings, so the kernel firewall can take the path back")
	offload := fs.Bool("flow-offload", false, "with --mode path: forward established connections without the rules when the ruleset provably accepts them (as nftables' flowtable)")
	var hp helperParams
	helperParamFlag(fs, &hp)
	var sc sysctlFlag
	sysctlFlagVar(fs, &sc)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *rules == "" && *rules6 == "" {
		return fmt.Errorf("%w: --rules FILE or --rules6 FILE is required", errUsage)
	}
	nums, err := parseQueues(*queues)
	if err != nil {
		return fmt.Errorf("%w: --queue: %v", errUsage, err)
	}
	acct, err := nfacctTable(*nfacct)
	if err != nil {
		return err
	}
	osf, err := loadOSF(*osfPath)
	if err != nil {
		return err
	}
	var syncCfg *ctsync.Config
	if *syncConf != "" {
		if syncCfg, err = readSyncConf(*syncConf, stderr); err != nil {
			return err
		}
	}
	var sets *ipset.Sets
	// -m socket and TPROXY find the kernel's sockets: the packets are
	// the kernel's.
	sockets := &sockdiag.Lookup{}
	defer sockets.Close()
	cfg := daemon.Config{
		Queues:        nums,
		Queue:         nfq.Config{FailOpen: *failOpen, GSO: *gso, CopyRange: uint32(*copyRange), MaxLen: uint32(*maxLen)},
		Snapshot:      *snapshot,
		NFLogDir:      *nflogDir,
		ConnLabels:    hostConnLabels(),
		Deadline:      *deadline,
		Sync:          syncCfg,
		AdoptKernel:   *adopt,
		HandoffKernel: *handoff,
		Engine:        nfgo.Config{Helpers: hp.cfg, NFAcct: acct, OSF: osf, Sockets: sockets, Conntrack: conntrack.Config{TCP: sc.tcp}, FlowOffload: *offload},
		Logger:        slog.New(slog.NewTextHandler(stderr, nil)),
		// Sets are read first and the rules checked against them; the
		// daemon then installs both.
		LoadSets: func() (*ipset.Sets, error) {
			var err error
			if sets, err = loadSets(*ipsets); sets == nil && err == nil {
				// No file: an empty collection that nfgo ipset fills.
				sets = &ipset.Sets{}
			}
			return sets, err
		},
		LoadRules: func() (v4, v6 *filter.Ruleset, err error) {
			if *rules != "" {
				if v4, err = loadRules(*rules, packet.IPv4, ruleObjects{sets: sets, nfacct: acct, osf: osf}); err != nil {
					return nil, nil, err
				}
			}
			if *rules6 != "" {
				if v6, err = loadRules(*rules6, packet.IPv6, ruleObjects{sets: sets, nfacct: acct, osf: osf}); err != nil {
					return nil, nil, err
				}
			}
			return v4, v6, nil
		},
	}
	switch *mode {
	case "hook":
		cfg.Mode = daemon.ModeHook
	case "path":
		cfg.Mode = daemon.ModePath
	case "each-hook":
		cfg.Mode = daemon.ModeEachHook
	default:
		return fmt.Errorf("%w: --mode %q: want hook, path or each-hook", errUsage, *mode)
	}
	if *offload && cfg.Mode != daemon.ModePath {
		return fmt.Errorf("%w: --flow-offload needs --mode path (it skips a connection's whole path)", errUsage)
	}
	switch *defVerdict {
	case "accept":
		cfg.DefaultVerdict = nfq.Accept
	case "drop":
		cfg.DefaultVerdict = nfq.Drop
	default:
		return fmt.Errorf("%w: --default-verdict %q: want accept or drop", errUsage, *defVerdict)
	}
	srv, err := daemon.New(cfg)
	if err != nil {
		if printRulesErrors(stderr, err) {
			return errFailed
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := srv.Reload(); err != nil {
				cfg.Logger.Error("reload refused; the old rules stay", "err", err)
			} else {
				cfg.Logger.Info("rules reloaded")
			}
		}
	}()
	if *control != "" {
		go func() {
			if err := srv.ServeControl(ctx, *control); err != nil {
				cfg.Logger.Error("control socket", "err", err)
			}
		}()
	}
	if *metrics != "" {
		ln, err := net.Listen("tcp", *metrics)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			srv.WriteMetrics(w)
		})
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
	}
	if err := srv.Run(ctx); err != nil {
		if errors.Is(err, nfq.ErrPermission) || errors.Is(err, nfq.ErrBusy) {
			return fmt.Errorf("cannot bind the queue: %w", err)
		}
		return err
	}
	return nil
}

// readSyncConf reads a conntrackd.conf, printing its notes (settings
// nfgo ignores) as FILE:LINE: note, and refusing it as conntrackd would,
// or where nfgo cannot honour a setting, with FILE:LINE: reason.
func readSyncConf(path string, stderr io.Writer) (*ctsync.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sync: %w", err)
	}
	cfg, notes, err := ctsync.ReadConfig(data)
	for _, n := range notes {
		fmt.Fprintf(stderr, "%s:%d: note: %s\n", path, n.Line, n.Text)
	}
	if ce, ok := errors.AsType[*ctsync.ConfigError](err); ok {
		fmt.Fprintf(stderr, "%s:%d: %s\n", path, ce.Line, ce.Msg)
		return nil, errFailed
	}
	return cfg, err
}

// parseQueues reads N or N:M.
func parseQueues(s string) ([]uint16, error) {
	lo, hi, ok := strings.Cut(s, ":")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%q is not a queue number", lo)
	}
	b := a
	if ok {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return nil, fmt.Errorf("%q is not a range N:M with N ≤ M", s)
		}
	}
	var out []uint16
	for n := a; n <= b; n++ {
		out = append(out, uint16(n))
	}
	return out, nil
}

// controlCmd sends one command to a running nfgo run: nfgo reload, nfgo
// counters, nfgo conntrack -L|-E|-F|-D.
func controlCmd(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	path := defaultControl
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--control" || a == "-control":
			if i+1 >= len(args) {
				return fmt.Errorf("%w: --control needs a PATH", errUsage)
			}
			path = args[i+1]
			i++
		case strings.HasPrefix(a, "--control="):
			path = strings.TrimPrefix(a, "--control=")
		default:
			rest = append(rest, a)
		}
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		return fmt.Errorf("is nfgo run serving %s? %w", path, err)
	}
	defer c.Close()
	words := append([]string{name}, rest...)
	if name == "ipset" {
		// ipset's comments are one word in double quotes.
		for i, w := range words {
			if strings.ContainsAny(w, " \t") {
				words[i] = `"` + w + `"`
			}
		}
	}
	if _, err := fmt.Fprintln(c, strings.Join(words, " ")); err != nil {
		return err
	}
	if name == "ipset" && len(rest) > 0 && rest[len(rest)-1] == "restore" || strings.HasSuffix(name, "tables-restore") {
		// ipset restore and iptables-restore: the file comes on
		// standard input.
		if _, err := io.Copy(c, stdin); err != nil {
			return err
		}
	}
	if name != "conntrack" || len(rest) == 0 || rest[0] != "-E" {
		c.(*net.UnixConn).CloseWrite()
	}
	out, err := io.ReadAll(io.TeeReader(c, stdout))
	if err != nil {
		return err
	}
	if strings.HasPrefix(string(out), "error: ") {
		return errFailed
	}
	return nil
}
