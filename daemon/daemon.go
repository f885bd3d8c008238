// Package daemon is nfgo's verdict daemon, the heart of "nfgo run": it
// serves NFQUEUE queues with an Engine, one goroutine locked to its
// thread per queue and one conntrack table shared by all, and it reloads
// rules, keeps the host model current, saves and restores conntrack
// snapshots, injects the packets the rules generate, and counts what it
// does.
//
// Three layouts (Mode) tell it what a queued packet is:
//
//   - ModeHook: each packet is judged at the hook it was queued at, by
//     that hook's tables (Engine.Hook). This is filtering behind
//     "-j NFQUEUE" in filter INPUT/FORWARD/OUTPUT, with the kernel's own
//     conntrack and NAT left running.
//   - ModePath: packets are queued once, at raw PREROUTING and raw OUTPUT
//     after NOTRACK, and nfgo runs their whole path (Engine.Path) with
//     its own conntrack and NAT, handing back the final packet; the
//     kernel then only routes and forwards it. One round trip per packet.
//   - ModeEachHook: the kernel's conntrack is off (NOTRACK) and a packet
//     is queued at every hook (mangle PREROUTING, INPUT, FORWARD, OUTPUT,
//     POSTROUTING); nfgo runs each hook's tables with its own conntrack
//     and NAT, carrying the packet's connection from hook to hook
//     (Engine.HookTransit), and the kernel does the routing between. Two
//     or three round trips per packet.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/ctnetlink"
	"github.com/nfgo/nfgo/ctsync"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/nfq"
	"github.com/nfgo/nfgo/packet"
)

// Mode is how the daemon treats a queued packet; see the package comment.
type Mode uint8

// The modes.
const (
	ModeHook Mode = iota
	ModePath
	ModeEachHook
)

// Config configures a Server.
type Config struct {
	// Queues are the queue numbers to bind (--queue 0:3 is 0, 1, 2, 3).
	Queues []uint16
	// Queue is the template for every queue's settings (its Num is
	// ignored).
	Queue nfq.Config
	// Mode is the layout; see the package comment.
	Mode Mode
	// LoadRules reads the rulesets (either may be nil); Reload calls it
	// again.
	LoadRules func() (v4, v6 *filter.Ruleset, err error)
	// LoadSets reads the ipsets the rules name (nil: none). Reload
	// calls it before LoadRules' rules are checked, and the new sets
	// replace the old ones with the rules.
	LoadSets func() (*ipset.Sets, error)
	// Snapshot is a conntrack snapshot file: restored at start if it
	// exists, written at shutdown. Empty: none. With LoadSets, the sets
	// are saved beside it (SetsSnapshotFile, ipset save format) and,
	// at the next start, used instead of LoadSets' so that elements
	// added at run time (fail2ban's bans, SET's entries) and their
	// remaining timeouts survive the restart; a reload reads LoadSets'
	// again.
	Snapshot string
	// Engine configures the engine (its Host is learnt from the kernel).
	Engine nfgo.Config
	// HostRefresh is how often the host model is re-read (0: 2 s).
	HostRefresh time.Duration
	// Deadline is the watchdog's verdict deadline: a batch still being
	// judged after it gets DefaultVerdict (0: 1 s).
	Deadline time.Duration
	// DefaultVerdict is the watchdog's verdict (Accept with fail-open
	// semantics, or Drop).
	DefaultVerdict nfq.Action
	// NFLogDir is where NFLOG's packets are written, a pcapng file per
	// group (NFLogFile); empty: they are dropped from the log, counted
	// in nfgo_nflog_dropped_total.
	NFLogDir string
	// ConnLabels names the connection labels of rules restored over the
	// control socket (nil: labels are numbers).
	ConnLabels *iptables.ConnLabels
	// Sync, if set, is a conntrackd.conf (ctsync.ReadConfig): the daemon
	// is then a member of an HA pair, syncing its table with the peer
	// as conntrackd does (see docs/HA.md). It needs nfgo's own
	// connection tracking: ModePath or ModeEachHook.
	Sync *ctsync.Config
	// AdoptKernel takes the kernel's connections, NAT bindings
	// included, into nfgo's table at start, and follows the kernel's
	// changes to each until nfgo sees a packet of it
	// (ctnetlink.Adopter), so that a box switching from the kernel
	// firewall to nfgo keeps its connections. It needs ModePath or
	// ModeEachHook.
	AdoptKernel bool
	// HandoffKernel writes nfgo's connections into the kernel's table
	// at shutdown, after the queues are drained (ctnetlink.Export),
	// so that the kernel firewall can take the path back.
	HandoffKernel bool
	// Logger logs the daemon's life (nil: slog.Default()).
	Logger *slog.Logger
}

// Server serves NFQUEUE queues with one Engine.
type Server struct {
	cfg    Config
	log    *slog.Logger
	eng    *nfgo.Engine
	queues []*nfq.Queue
	ifs    atomic.Pointer[map[uint32]string]
	inject injector
	nflog  nflogFiles
	// workers are the queues' workers, once Run has started them.
	workers atomic.Pointer[[]*worker]
	// transits are the packets between hooks, in ModeEachHook.
	transits transits
	// sent are the injected packets the engine has already judged.
	sent sentJudged
	// startSets are the sets of the ipset snapshot, which the first
	// Reload (in New) uses instead of LoadSets'.
	startSets *ipset.Sets
	// sync is the HA pair's node (nil without Config.Sync).
	sync  *ctsync.Node
	rules struct {
		mu     sync.Mutex
		v4, v6 *filter.Ruleset
	}
}

// New builds a Server: it loads the rules (refusing to start on a bad
// ruleset), learns the host, and restores the conntrack snapshot. It does
// not bind the queues yet.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HostRefresh <= 0 {
		cfg.HostRefresh = 2 * time.Second
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = time.Second
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = []uint16{0}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, nflog: nflogFiles{dir: cfg.NFLogDir}}
	host, names, err := learnHost()
	if err != nil {
		return nil, fmt.Errorf("learning the host: %w", err)
	}
	ecfg := cfg.Engine
	ecfg.Host = host
	ecfg.Logger = cfg.Logger
	ecfg.KernelForwards = cfg.Mode != ModeHook
	s.eng = nfgo.New(ecfg)
	s.ifs.Store(&names)
	if cfg.Snapshot != "" && cfg.LoadSets != nil {
		path := SetsSnapshotFile(cfg.Snapshot)
		if f, err := os.Open(path); err == nil {
			sets, err := ipset.ParseSets(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("restoring %s: %w", path, err)
			}
			s.startSets = sets
			s.log.Info("ipset snapshot restored", "file", path, "sets", len(sets.Names()))
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("restoring %s: %w", path, err)
		}
	}
	err = s.Reload()
	s.startSets = nil
	if err != nil {
		return nil, err
	}
	if cfg.Snapshot != "" && s.eng.Conntrack() != nil {
		if f, err := os.Open(cfg.Snapshot); err == nil {
			n, err := s.eng.Conntrack().Load(f, time.Now())
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("restoring %s: %w", cfg.Snapshot, err)
			}
			s.log.Info("conntrack snapshot restored", "file", cfg.Snapshot, "connections", n)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("restoring %s: %w", cfg.Snapshot, err)
		}
	}
	if (cfg.AdoptKernel || cfg.HandoffKernel) && (cfg.Mode == ModeHook || s.eng.Conntrack() == nil) {
		return nil, ErrAdoptLayout
	}
	if cfg.Sync != nil {
		if cfg.Mode == ModeHook || s.eng.Conntrack() == nil {
			return nil, ErrSyncLayout
		}
		node, err := ctsync.NewNode(ctsync.NodeConfig{Sync: cfg.Sync, Table: s.eng.Conntrack(), Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("state sync: %w", err)
		}
		s.sync = node
	}
	return s, nil
}

// ErrSyncLayout is New's error for state sync in the hook layout, where
// the kernel tracks the connections: its table is the one to sync, with
// conntrackd.
var ErrSyncLayout = errors.New("state sync needs nfgo's own connection tracking: use the path or each-hook layout (--mode path); in the hook layout the kernel's table is synced by conntrackd")

// ErrAdoptLayout is New's error for AdoptKernel or HandoffKernel in the
// hook layout, where the kernel's table is the live one already.
var ErrAdoptLayout = errors.New("adopting or handing back the kernel's connections needs nfgo's own connection tracking: use the path or each-hook layout (--mode path)")

// Sync returns the daemon's HA node, nil without Config.Sync.
func (s *Server) Sync() *ctsync.Node { return s.sync }

// Engine returns the server's engine.
func (s *Server) Engine() *nfgo.Engine { return s.eng }

// Reload reads the rules again and swaps them in atomically; on any error
// the rules in force stay.
func (s *Server) Reload() error {
	var sets *ipset.Sets
	switch {
	case s.startSets != nil:
		sets = s.startSets
	case s.cfg.LoadSets != nil:
		var err error
		if sets, err = s.cfg.LoadSets(); err != nil {
			return err
		}
	}
	v4, v6, err := s.cfg.LoadRules()
	if err != nil {
		return err
	}
	// Validate both before swapping either.
	for _, rs := range []*filter.Ruleset{v4, v6} {
		if rs != nil {
			if err := s.checkLayout(rs); err != nil {
				return err
			}
			objs := &filter.Objects{NFAcct: s.eng.NFAcct(), OSF: s.eng.OSF()}
			if sets != nil {
				objs.Sets = sets
			}
			p, err := filter.CompileWith(rs, objs)
			if err != nil {
				return err
			}
			p.Release()
		}
	}
	s.rules.mu.Lock()
	defer s.rules.mu.Unlock()
	if s.cfg.LoadSets != nil {
		s.eng.UseSets(sets)
	}
	for _, rs := range []*filter.Ruleset{v4, v6} {
		if rs != nil {
			if err := s.eng.SetRuleset(rs); err != nil {
				return err
			}
			s.logOffload(rs.Family)
		}
	}
	s.rules.v4, s.rules.v6 = v4, v6
	return nil
}

// logOffload says, with --flow-offload, whether the family's rules in
// force let connections be offloaded: rules that do not would otherwise
// leave the option silently without effect.
func (s *Server) logOffload(f packet.Family) {
	prog := s.eng.Program(f)
	if !s.cfg.Engine.FlowOffload || prog == nil {
		return
	}
	if ok, why := prog.Offload(); ok {
		s.log.Info("flow offload: the rules allow it", "family", f)
	} else {
		s.log.Warn("flow offload: the rules do not allow it; every packet takes the rules", "family", f, "reason", why)
	}
}

// Restore applies an iptables-save file to the rules in force for the
// family, as iptables-restore applies one to the kernel's tables: with
// opt.NoFlush, the tables it names keep their other chains, and a chain
// it declares is flushed first, so kube-proxy's update of one service
// costs what that service's chains cost (filter.CompileNext), and every
// other rule keeps its counters. On any error the rules in force stay.
// A reload reads the rules file again, and so drops what was restored.
func (s *Server) Restore(r io.Reader, family packet.Family, opt iptables.ReadOptions) error {
	if opt.ConnLabels == nil {
		opt.ConnLabels = s.cfg.ConnLabels
	}
	s.rules.mu.Lock()
	defer s.rules.mu.Unlock()
	cur := &s.rules.v4
	if family == packet.IPv6 {
		cur = &s.rules.v6
	}
	base := *cur
	if base == nil {
		base = filter.NewRuleset(family)
	}
	next, err := iptables.Restore(r, base, opt)
	if err != nil {
		return err
	}
	if err := s.checkLayout(next); err != nil {
		return err
	}
	if err := s.eng.SetRuleset(next); err != nil {
		return err
	}
	s.logOffload(family)
	*cur = next
	return nil
}

// Rulesets returns the rulesets in force, for counters.
func (s *Server) Rulesets() (v4, v6 *filter.Ruleset) {
	s.rules.mu.Lock()
	defer s.rules.mu.Unlock()
	return s.rules.v4, s.rules.v6
}

// ifname returns an interface's name by index ("" for 0 or unknown).
func (s *Server) ifname(idx uint32) string {
	if idx == 0 {
		return ""
	}
	return (*s.ifs.Load())[idx]
}

// tee sends a TEE copy.
func (s *Server) tee(e filter.Effect) error {
	oif := 0
	if e.Text != "" {
		for idx, name := range *s.ifs.Load() {
			if name == e.Text {
				oif = int(idx)
			}
		}
		if oif == 0 {
			return fmt.Errorf("TEE --oif %s: %w", e.Text, errNoInterface)
		}
	}
	return s.inject.tee(e.Packet, e.To.Addr(), oif)
}

// Run binds the queues and serves them until ctx ends; then it drains
// what is queued, unbinds, and saves the snapshot. Binding errors are
// returned at once (no CAP_NET_ADMIN, a queue already bound).
func (s *Server) Run(ctx context.Context) error {
	inj, err := newInjector()
	if err != nil {
		return err
	}
	s.inject = inj
	defer inj.close()
	if s.cfg.AdoptKernel {
		stop, err := s.adoptKernel()
		if err != nil {
			return err
		}
		defer stop()
	}
	for _, n := range s.cfg.Queues {
		qc := s.cfg.Queue
		qc.Num = n
		// The owner match needs the sending socket's owner.
		qc.UIDGID = true
		q, err := nfq.Open(qc)
		if err != nil {
			for _, q := range s.queues {
				q.Close()
			}
			return err
		}
		s.queues = append(s.queues, q)
	}
	s.log.Info("serving", "queues", s.cfg.Queues, "mode", s.modeName())
	var wg sync.WaitGroup
	if s.sync != nil {
		syncCtx, stopSync := context.WithCancel(context.Background())
		syncDone := make(chan struct{})
		go func() {
			defer close(syncDone)
			if err := s.sync.Run(syncCtx); err != nil {
				s.log.Error("state sync stopped", "err", err)
			}
		}()
		// The sync runs until the queues are drained, so that the
		// last changes reach the peer.
		defer func() { stopSync(); <-syncDone }()
	}
	workers := make([]*worker, len(s.queues))
	for i, q := range s.queues {
		workers[i] = &worker{s: s, q: q}
	}
	s.workers.Store(&workers)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.serve()
		}()
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	hostTick := time.NewTicker(s.cfg.HostRefresh)
	defer hostTick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var lastSweep time.Time
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-done:
			break loop
		case now := <-tick.C:
			for _, w := range workers {
				w.watchdog(now)
			}
			if now.Sub(lastSweep) > 500*time.Millisecond {
				lastSweep = now
				s.sent.sweep(now.UnixNano())
				if s.cfg.Mode == ModeEachHook {
					s.transits.sweep(now.UnixNano(), func(t *nfgo.Transit) {
						s.eng.Abandon(t)
						s.transits.release(t)
					})
				}
			}
		case <-hostTick.C:
			s.refreshHost()
		}
	}
	for _, q := range s.queues {
		q.Shutdown()
	}
	<-done
	if s.cfg.HandoffKernel {
		s.ExportKernel()
	}
	return s.saveSnapshot()
}

// adoptKernel adopts the kernel's table and follows it until stop.
func (s *Server) adoptKernel() (stop func(), err error) {
	a, err := ctnetlink.NewAdopter(s.eng.Conntrack(), nil)
	if err != nil {
		return nil, fmt.Errorf("adopting the kernel's connections: %w", err)
	}
	st := a.Stats()
	s.log.Info("kernel connections adopted", "listed", st.Dumped, "adopted", st.Adopted, "refused", st.Failed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			s.log.Error("following the kernel's connections stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// ExportKernel writes nfgo's connections into the kernel's table, with
// their NAT bindings (nfgo conntrack export, and --handoff-kernel at
// shutdown). It returns how many were written.
func (s *Server) ExportKernel() (int, error) {
	n, err := ctnetlink.Export(s.eng.Conntrack(), time.Now())
	if err != nil {
		s.log.Warn("handing connections to the kernel", "written", n, "err", err)
	} else {
		s.log.Info("connections handed to the kernel", "written", n)
	}
	return n, err
}

func (s *Server) modeName() string {
	switch s.cfg.Mode {
	case ModePath:
		return "path"
	case ModeEachHook:
		return "each-hook"
	}
	return "hook"
}

// refreshHost re-reads the host and, if it changed, gives it to the
// engine (which flushes MASQUERADE's connections of lost addresses).
func (s *Server) refreshHost() {
	h, names, err := learnHost()
	if err != nil {
		s.log.Warn("re-reading the host", "err", err)
		return
	}
	s.ifs.Store(&names)
	if n := s.eng.SetHost(h, time.Now()); n > 0 {
		s.log.Info("address change: masqueraded connections flushed", "connections", n)
	}
}

// SetsSnapshotFile is where the sets are saved beside a conntrack
// snapshot.
func SetsSnapshotFile(snapshot string) string { return snapshot + ".ipsets" }

// saveSets writes the sets beside the snapshot, renamed into place.
func (s *Server) saveSets() error {
	sets := s.eng.Sets()
	if s.cfg.Snapshot == "" || sets == nil {
		return nil
	}
	path := SetsSnapshotFile(s.cfg.Snapshot)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		err = sets.Save(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the sets: %w", err)
	}
	s.log.Info("ipset snapshot saved", "file", path, "sets", len(sets.Names()))
	return nil
}

func (s *Server) saveSnapshot() error {
	s.nflog.close()
	if err := s.saveSets(); err != nil {
		return err
	}
	if s.cfg.Snapshot == "" || s.eng.Conntrack() == nil {
		return nil
	}
	// Written beside it and renamed, so a crash never leaves half a
	// snapshot where the next start looks.
	tmp := s.cfg.Snapshot + ".tmp"
	err := func() error {
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := s.eng.Conntrack().Save(f, time.Now()); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, s.cfg.Snapshot)
	}()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the snapshot: %w", err)
	}
	s.log.Info("conntrack snapshot saved", "file", s.cfg.Snapshot, "connections", s.eng.Conntrack().Len())
	return nil
}

// worker serves one queue.
type worker struct {
	s *Server
	q *nfq.Queue
	p packet.Packet
	// busySince is when the batch being judged was received (Unix ns, 0
	// when idle), for the watchdog.
	busySince atomic.Int64
	// stats are this queue's counters: each worker counts on its own
	// cache lines, and Server.Stats sums them.
	stats Stats
}

func (w *worker) serve() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer w.q.Close()
	s := w.s
	for {
		pkts, err := w.q.Receive()
		if errors.Is(err, nfq.ErrClosed) {
			return
		}
		if err != nil {
			w.stats.errors.Add(1)
			s.log.Warn("queue", "queue", w.q.Num(), "err", err)
			if len(pkts) == 0 {
				// A socket that keeps failing must not spin the thread.
				time.Sleep(10 * time.Millisecond)
			}
		}
		if len(pkts) == 0 {
			continue
		}
		start := time.Now()
		w.busySince.Store(start.UnixNano())
		for i := range pkts {
			w.judge(&pkts[i], start)
		}
		if err := w.q.Flush(); err != nil {
			w.stats.errors.Add(1)
			s.log.Warn("verdicts", "queue", w.q.Num(), "err", err)
		}
		w.busySince.Store(0)
		w.stats.observe(len(pkts), time.Since(start))
	}
}

// judge runs one packet through the engine and records its verdict.
func (w *worker) judge(np *nfq.Packet, now time.Time) {
	s := w.s
	p := &w.p
	if np.Truncated() {
		// The copy range cut it: judge it by what is there (the way an
		// ICMP error's embedded packet is read), take its checksum as
		// the kernel's business, and never hand it back.
		p.DecodeEmbedded(np.Payload)
		p.PartialChecksum = true
	} else {
		p.Decode(np.Payload)
		p.PartialChecksum = np.ChecksumNotReady()
		// conntrack and the matches then skip the checksum check the
		// kernel skips (skb_csum_unnecessary).
		p.ChecksumVerified = np.ChecksumVerified()
	}
	if p.PartialChecksum {
		w.stats.partialChecksum.Add(1)
	}
	if np.GSO() {
		w.stats.gso.Add(1)
	}
	if s.ownPacketAt(np) && s.sent.has(np.Payload, now.UnixNano()) {
		// A packet of the engine's own, already judged through OUTPUT
		// and POSTROUTING (and, to the host itself, PREROUTING and
		// INPUT on lo): it goes on as it is.
		w.stats.count(nfgo.Verdict{Action: filter.Accept, Reason: nfgo.ReasonNoRules})
		w.stats.ownPassed.Add(1)
		w.q.SetVerdict(np.ID, nfq.Verdict{Action: nfq.Accept})
		return
	}
	m := nfgo.Meta{Hook: filter.Hook(np.Hook), In: s.ifname(np.InDev), Out: s.ifname(np.OutDev), Mark: np.Mark, Time: now}
	m.Origin = origin(np, s.ifname)
	var v nfgo.Verdict
	switch {
	case s.cfg.Mode == ModePath && (m.Hook == filter.Prerouting || m.Hook == filter.Output):
		v = s.eng.Path(p, m)
	case s.cfg.Mode == ModeEachHook:
		v = w.transit(p, np, m, now)
	default:
		v = s.eng.Hook(p, m)
	}
	out := nfq.Verdict{Action: nfq.Drop}
	if v.Action == filter.Accept {
		out.Action = nfq.Accept
	}
	if v.Mark != np.Mark {
		out.SetMark, out.Mark = true, v.Mark
	}
	if p.Modified && out.Action == nfq.Accept && !np.Truncated() {
		p.CompleteChecksum() // the kernel marks a new payload CHECKSUM_NONE
		out.Payload = p.Bytes()
		w.stats.rewritten.Add(1)
	}
	for _, e := range v.Effects {
		switch e.Kind {
		case filter.EffectSend:
			if e.Routed {
				s.sent.add(e.Packet, now.UnixNano())
			}
			if err := s.inject.send(e.Packet); err != nil {
				w.stats.injectErrors.Add(1)
			} else {
				w.stats.injected.Add(1)
			}
		case filter.EffectTee:
			if err := s.tee(e); err != nil {
				w.stats.teeErrors.Add(1)
			} else {
				w.stats.teeSent.Add(1)
			}
		case filter.EffectNFLog:
			if s.cfg.NFLogDir == "" || s.nflog.write(e.Group, e.Text, e.Packet, now) != nil {
				w.stats.nflogDropped.Add(1)
			} else {
				w.stats.nflogged.Add(1)
			}
		}
	}
	w.stats.count(v)
	w.q.SetVerdict(np.ID, out)
}

// ErrSYNPROXYLayout is Reload's error for a SYNPROXY rule in the hook
// layout.
var ErrSYNPROXYLayout = errors.New("SYNPROXY needs nfgo's own connection tracking: use the path or each-hook layout (--mode path)")

// checkLayout refuses what the layout cannot do: SYNPROXY splices two
// handshakes in nfgo's conntrack, and in the hook layout the kernel's
// conntrack tracks the connection and the packets leave through hooks
// nfgo does not see.
func (s *Server) checkLayout(rs *filter.Ruleset) error {
	if s.cfg.Mode != ModeHook {
		return nil
	}
	for _, t := range rs.Tables() {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if _, ok := r.Target.(*filter.SYNPROXYTarget); ok {
					return fmt.Errorf("rules line %d: %w", r.Line, ErrSYNPROXYLayout)
				}
			}
		}
	}
	return nil
}

// ownPacketAt reports whether a queued packet is where one the engine
// sent comes back: at OUTPUT or POSTROUTING, or, sent to the host
// itself, at PREROUTING or INPUT through lo. It is asked first, so that
// the packets arriving from outside never look the sent ones up.
func (s *Server) ownPacketAt(np *nfq.Packet) bool {
	switch filter.Hook(np.Hook) {
	case filter.Output, filter.Postrouting:
		return true
	case filter.Prerouting, filter.Input:
		return s.ifname(np.InDev) == "lo"
	}
	return false
}

// transit judges a packet at one of its hooks in the each-hook layout,
// taking its connection from the hook before and leaving it for the next.
func (w *worker) transit(p *packet.Packet, np *nfq.Packet, m nfgo.Meta, now time.Time) nfgo.Verdict {
	s := w.s
	k, ok := keyOf(np.Payload)
	var tr *nfgo.Transit
	if ok {
		tr = s.transits.take(&k)
	} else {
		tr = new(nfgo.Transit)
	}
	v := s.eng.HookTransit(p, m, tr)
	last := m.Hook == filter.Input || m.Hook == filter.Postrouting
	if v.Action == filter.Accept && !last {
		if k, ok := keyOf(p.Bytes()); ok {
			if old := s.transits.put(&k, tr, now.UnixNano()); old != nil {
				s.eng.Abandon(old)
				s.transits.release(old)
			}
			return v
		}
	}
	if tr.Pending() {
		s.eng.Abandon(tr)
	}
	s.transits.release(tr)
	return v
}

// watchdog answers a batch that has been judged for longer than the
// deadline with the default verdict, so no packet waits forever.
func (w *worker) watchdog(now time.Time) {
	since := w.busySince.Load()
	if since == 0 || now.UnixNano()-since < w.s.cfg.Deadline.Nanoseconds() {
		return
	}
	if w.busySince.CompareAndSwap(since, 0) {
		w.stats.watchdog.Add(1)
		w.s.log.Warn("verdict deadline passed: default verdict for the queue", "queue", w.q.Num(), "verdict", w.s.cfg.DefaultVerdict)
		w.q.VerdictAll(w.s.cfg.DefaultVerdict)
	}
}

// origin is what NFQUEUE says of a packet beyond its bytes: the owner of
// the socket that sent it (NFQA_UID and NFQA_GID, which the kernel sends
// only for a socket with a file), its source link-layer address and its
// bridge ports.
func origin(np *nfq.Packet, ifname func(uint32) string) filter.Origin {
	o := filter.Origin{HasSocket: np.HasUID, HasOwner: np.HasUID, UID: np.UID, GID: np.GID, HWAddr: np.HWAddr}
	if np.PhysInDev != 0 || np.PhysOutDev != 0 {
		o.Bridged = true
		if np.PhysInDev != 0 {
			o.PhysIn = ifname(np.PhysInDev)
		}
		if np.PhysOutDev != 0 {
			o.PhysOut = ifname(np.PhysOutDev)
		}
	}
	return o
}
