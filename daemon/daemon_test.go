package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/nfgo/nfgo/nfq"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"

	"net/netip"
)

const testRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-N web
-A FORWARD -p tcp -m tcp --dport 80 -j web
-A web -j ACCEPT
COMMIT
`

func newTestServer(t *testing.T, rules *string) *Server {
	t.Helper()
	s, err := New(Config{LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
		rs, err := iptables.Parse(strings.NewReader(*rules), packet.IPv4)
		return rs, nil, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func command(t *testing.T, s *Server, line string) (string, error) {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	err := s.Command(context.Background(), strings.Fields(line), w, strings.NewReader(""))
	w.Flush()
	return b.String(), err
}

func TestControlCommands(t *testing.T) {
	rules := testRules
	s := newTestServer(t, &rules)
	// One forwarded HTTP SYN through the engine, as a queue would hand it.
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("10.2.0.2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1}))
	if v := s.Engine().Hook(&p, nfgo.Meta{Hook: filter.Forward, In: "r0", Out: "r1", Time: time.Now()}); v.Action != filter.Accept {
		t.Fatalf("verdict %v", v)
	}

	out, err := command(t, s, "counters")
	if err != nil || !strings.Contains(out, "Chain FORWARD (policy DROP 0 packets, 0 bytes)") ||
		!strings.Contains(out, "Chain web (1 references)") || !strings.Contains(out, "       1         40 -p tcp -m tcp --dport 80 -j web") {
		t.Errorf("counters (%v):\n%s", err, out)
	}
	out, err = command(t, s, "conntrack -L")
	if err != nil || !strings.Contains(out, "src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=80") || !strings.Contains(out, "1 flow entries") {
		t.Errorf("conntrack -L (%v):\n%s", err, out)
	}
	if out, err = command(t, s, "conntrack -D -p udp"); err != nil || !strings.Contains(out, "0 flow entries have been deleted") {
		t.Errorf("conntrack -D -p udp (%v): %s", err, out)
	}
	if out, err = command(t, s, "conntrack -D -p tcp --dport 80 -s 10.1.0.2"); err != nil || !strings.Contains(out, "1 flow entries have been deleted") {
		t.Errorf("conntrack -D (%v): %s", err, out)
	}
	if _, err = command(t, s, "conntrack -D --bogus 1"); err == nil {
		t.Error("conntrack -D with an unknown filter succeeded")
	}
	// A reload of a broken file fails and keeps the rules.
	rules = "*filter\n-A FORWARD -j NOSUCH\nCOMMIT\n"
	if _, err = command(t, s, "reload"); err == nil {
		t.Error("reload of a broken ruleset succeeded")
	}
	if v4, _ := s.Rulesets(); v4 == nil || len(v4.Tables()) == 0 {
		t.Error("the old rules are gone after a failed reload")
	}
	if _, err = command(t, s, "frobnicate"); err == nil {
		t.Error("an unknown command succeeded")
	}
}

func TestMetricsAreWellFormed(t *testing.T) {
	rules := testRules
	s := newTestServer(t, &rules)
	// Two queues' workers, each counting one packet.
	w0, w1 := &worker{s: s}, &worker{s: s}
	s.workers.Store(&[]*worker{w0, w1})
	w0.stats.count(nfgo.Verdict{Action: filter.Drop, Reason: nfgo.ReasonPolicy})
	w1.stats.count(nfgo.Verdict{Action: filter.Accept})
	w1.stats.count(nfgo.Verdict{Action: filter.Accept, Reason: nfgo.ReasonOffload})
	w0.stats.observe(1, 30*time.Microsecond)
	w1.stats.observe(1, 40*time.Microsecond)
	var b bytes.Buffer
	s.WriteMetrics(&b)
	out := b.String()
	for _, want := range []string{
		"nfgo_packets_total 3",
		`nfgo_verdicts_total{verdict="accept"} 2`,
		`nfgo_verdicts_total{verdict="drop"} 1`,
		"nfgo_offloaded_packets_total 1",
		`nfgo_drops_total{reason="policy"} 1`,
		`nfgo_verdict_latency_seconds_bucket{le="1e-05"} 0`,
		`nfgo_verdict_latency_seconds_bucket{le="5e-05"} 2`,
		`nfgo_verdict_latency_seconds_bucket{le="+Inf"} 2`,
		"nfgo_conntrack_entries 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
	// Every sample line is NAME{labels} VALUE after its HELP and TYPE.
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "# ") && len(strings.Fields(l)) != 2 {
			t.Errorf("malformed sample line %q", l)
		}
	}
}

func TestNewRefusesBadRules(t *testing.T) {
	_, err := New(Config{LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
		return nil, nil, errors.New("rules:3: bad")
	}})
	if err == nil || !strings.Contains(err.Error(), "rules:3: bad") {
		t.Errorf("New with bad rules: %v", err)
	}
}

// The control socket lists and flushes expectations as conntrack -L
// expect and -F expect do.
func TestControlExpectations(t *testing.T) {
	rules := "*raw\n-A PREROUTING -p udp --dport 69 -j CT --helper tftp\nCOMMIT\n"
	s := newTestServer(t, &rules)
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("10.2.0.2"), Proto: "udp", SrcPort: 3000, DstPort: 69, Payload: []byte("\x00\x01f\x00octet\x00")}))
	if v := s.Engine().Path(&p, nfgo.Meta{In: "r0", Time: time.Now()}); v.Action != filter.Accept {
		t.Fatalf("verdict %v", v)
	}
	out, err := command(t, s, "conntrack -L expect")
	if err != nil || !strings.Contains(out, "proto=17 src=10.2.0.2 dst=10.1.0.2 sport=0 dport=3000") || !strings.Contains(out, "helper=tftp") || !strings.Contains(out, "1 expectations have been shown") {
		t.Errorf("conntrack -L expect (%v):\n%s", err, out)
	}
	if out, err = command(t, s, "conntrack -F expect"); err != nil || !strings.Contains(out, "(1 entries)") {
		t.Errorf("conntrack -F expect (%v): %s", err, out)
	}
	if out, _ = command(t, s, "conntrack -L expect"); !strings.Contains(out, "0 expectations") {
		t.Errorf("after the flush: %s", out)
	}
}

// NFQUEUE's socket owner, hardware address and bridge ports reach the
// rules as the packet's Origin.
func TestOriginFromNFQUEUEAttributes(t *testing.T) {
	names := map[uint32]string{3: "veth1", 4: "veth2"}
	ifname := func(i uint32) string { return names[i] }
	hw := []byte{0, 1, 2, 3, 4, 5}
	o := origin(&nfq.Packet{HasUID: true, UID: 1000, GID: 100, HWAddr: hw, PhysInDev: 3, PhysOutDev: 4}, ifname)
	if !o.HasSocket || !o.HasOwner || o.UID != 1000 || o.GID != 100 || !o.Bridged || o.PhysIn != "veth1" || o.PhysOut != "veth2" || string(o.HWAddr) != string(hw) {
		t.Errorf("origin = %+v", o)
	}
	if o := origin(&nfq.Packet{}, ifname); o.HasSocket || o.Bridged {
		t.Errorf("origin of a forwarded, unbridged packet = %+v, want nothing known", o)
	}
}

// TestIpsetCommandsDriveTheRules is what fail2ban does to a running
// daemon: it adds an address to a set a rule names, the next packet from
// it is dropped, and deleting it lets packets through again; list, save,
// test and restore answer as ipset does.
func TestIpsetCommandsDriveTheRules(t *testing.T) {
	rules := `*filter
:INPUT ACCEPT [0:0]
-A INPUT -m set --match-set f2b-sshd src -j DROP
COMMIT
`
	s, err := New(Config{
		LoadSets: func() (*ipset.Sets, error) {
			return ipset.ParseSets(strings.NewReader("create f2b-sshd hash:ip timeout 600 comment\n"))
		},
		LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
			rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
			return rs, nil, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ipsetCmd := func(line, body string) (string, error) {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		err := s.IpsetCommand(line, w, strings.NewReader(body))
		w.Flush()
		return b.String(), err
	}
	verdict := func() filter.Action {
		var p packet.Packet
		p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: "S", Seq: 1}))
		return s.Engine().Hook(&p, nfgo.Meta{Hook: filter.Input, In: "eth0", Time: time.Now()}).Action
	}
	if v := verdict(); v != filter.Accept {
		t.Fatalf("before the ban: %v", v)
	}
	if _, err := ipsetCmd(`add f2b-sshd 198.51.100.9 timeout 300 comment "banned by fail2ban"`, ""); err != nil {
		t.Fatal(err)
	}
	if v := verdict(); v != filter.Drop {
		t.Errorf("after the ban: %v, want DROP", v)
	}
	if out, err := ipsetCmd("test f2b-sshd 198.51.100.9", ""); err != nil || out != "198.51.100.9 is in set f2b-sshd.\n" {
		t.Errorf("test: %q, %v", out, err)
	}
	out, err := ipsetCmd("list f2b-sshd", "")
	for _, want := range []string{"Name: f2b-sshd\nType: hash:ip\nRevision: 6\nHeader: family inet hashsize 1024 maxelem 65536 timeout 600 comment bucketsize 12 initval 0x",
		"References: 1\nNumber of entries: 1\nMembers:\n198.51.100.9 timeout 29", ` comment "banned by fail2ban"`} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("list lacks %q (%v):\n%s", want, err, out)
		}
	}
	if _, err := ipsetCmd("destroy f2b-sshd", ""); !errors.Is(err, ipset.ErrInUse) {
		t.Errorf("destroying a set a rule holds: %v", err)
	}
	if _, err := ipsetCmd("del f2b-sshd 198.51.100.9", ""); err != nil {
		t.Fatal(err)
	}
	if v := verdict(); v != filter.Accept {
		t.Errorf("after the unban: %v, want ACCEPT", v)
	}
	if _, err := ipsetCmd("-exist restore", "add f2b-sshd 198.51.100.9\nadd f2b-sshd 198.51.100.9\n"); err != nil {
		t.Errorf("restore -exist: %v", err)
	}
	if v := verdict(); v != filter.Drop {
		t.Errorf("after the restore: %v, want DROP", v)
	}
	if _, err := ipsetCmd("restore", "add f2b-sshd 198.51.100.9\n"); err == nil || err.Error() != "Error in line 1: Element cannot be added to the set: it's already added" {
		t.Errorf("restore without -exist: %v", err)
	}
}

// TestSetsSurviveARestart: elements added at run time are saved beside
// the conntrack snapshot at shutdown and are there, with what remains of
// their timeouts, after the next start; a reload then reads the file.
func TestSetsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Snapshot: filepath.Join(dir, "ct.snap"),
		LoadSets: func() (*ipset.Sets, error) {
			return ipset.ParseSets(strings.NewReader("create bans hash:ip timeout 600\n"))
		},
		LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
			rs, err := iptables.Parse(strings.NewReader("*filter\n-A INPUT -m set --match-set bans src -j DROP\nCOMMIT\n"), packet.IPv4)
			return rs, nil, err
		},
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Engine().Sets().Exec("add bans 203.0.113.5 timeout 120", false); err != nil {
		t.Fatal(err)
	}
	if err := s.saveSnapshot(); err != nil {
		t.Fatal(err)
	}
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s2.Engine().Sets().SaveSet(&b, "bans"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "add bans 203.0.113.5 timeout 11") {
		t.Errorf("after the restart:\n%s", b.String())
	}
	if err := s2.Reload(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s2.Engine().Sets().Test("bans", "203.0.113.5"); ok {
		t.Error("a reload kept the snapshot's sets instead of reading LoadSets'")
	}
}

// TestRecentListThroughTheControlSocket is /proc/net/xt_recent on a
// running daemon: an address written to a list a rule checks is dropped,
// the list reads back in the kernel's format, it keeps its entries across
// a reload that keeps the rule, and removing the address lets it in.
func TestRecentListThroughTheControlSocket(t *testing.T) {
	rules := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --rcheck --name blocked -j DROP\nCOMMIT\n"
	s, err := New(Config{LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
		rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
		return rs, nil, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, error) {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		err := s.Command(context.Background(), append([]string{"recent"}, args...), w, nil)
		w.Flush()
		return b.String(), err
	}
	verdict := func() filter.Action {
		var p packet.Packet
		p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "udp", SrcPort: 40000, DstPort: 53}))
		return s.Engine().Hook(&p, nfgo.Meta{Hook: filter.Input, In: "eth0", Time: time.Now()}).Action
	}
	if out, err := cmd(); err != nil || out != "blocked\n" {
		t.Fatalf("recent: %q, %v", out, err)
	}
	if v := verdict(); v != filter.Accept {
		t.Fatalf("before: %v", v)
	}
	if _, err := cmd("blocked", "+198.51.100.9"); err != nil {
		t.Fatal(err)
	}
	if v := verdict(); v != filter.Drop {
		t.Errorf("after +198.51.100.9: %v, want DROP", v)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd("blocked")
	if err != nil || !strings.HasPrefix(out, "src=198.51.100.9 ttl: 0 last_seen: ") || !strings.Contains(out, " oldest_pkt: 1 ") {
		t.Errorf("after a reload the list reads %q, %v", out, err)
	}
	if _, err := cmd("blocked", "-198.51.100.9"); err != nil {
		t.Fatal(err)
	}
	if v := verdict(); v != filter.Accept {
		t.Errorf("after -198.51.100.9: %v, want ACCEPT", v)
	}
	if _, err := cmd("nosuch"); err == nil {
		t.Error("a list no rule names was found")
	}
	if _, err := cmd("blocked", "198.51.100.9"); err == nil {
		t.Error("a line without + or - was taken")
	}
}

// TestNFAcctThroughTheControlSocket is kube-proxy's use of nfacct: the
// objects are added, rules that name them count into them, and they
// print as nfacct list prints them; an object a rule holds cannot be
// deleted.
func TestNFAcctThroughTheControlSocket(t *testing.T) {
	rules := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m nfacct --nfacct-name localhost_nps_accepted_pkts\nCOMMIT\n"
	s, err := New(Config{LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
		rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
		return rs, nil, err
	}, Engine: nfgo.Config{NFAcct: func() *filter.NFAcctTable {
		t := &filter.NFAcctTable{}
		t.Add("localhost_nps_accepted_pkts")
		return t
	}()}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, error) {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		err := s.Command(context.Background(), append([]string{"nfacct"}, args...), w, nil)
		w.Flush()
		return b.String(), err
	}
	for range 3 {
		var p packet.Packet
		p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "udp", SrcPort: 40000, DstPort: 53, Payload: make([]byte, 12)}))
		s.Engine().Hook(&p, nfgo.Meta{Hook: filter.Input, In: "eth0", Time: time.Now()})
	}
	if _, err := cmd("add", "other"); err != nil {
		t.Fatal(err)
	}
	want := "{ pkts = 00000000000000000003, bytes = 00000000000000000120 } = localhost_nps_accepted_pkts;\n" +
		"{ pkts = 00000000000000000000, bytes = 00000000000000000000 } = other;\n"
	if out, err := cmd("list"); err != nil || out != want {
		t.Errorf("list:\n%s(%v)\nwant\n%s", out, err, want)
	}
	if _, err := cmd("delete", "localhost_nps_accepted_pkts"); !errors.Is(err, filter.ErrNFAcctBusy) {
		t.Errorf("deleting an object a rule holds: %v", err)
	}
	if _, err := cmd("add", "other"); !errors.Is(err, filter.ErrNFAcctExists) {
		t.Errorf("adding an object twice: %v", err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if out, _ := cmd("get", "localhost_nps_accepted_pkts", "reset"); !strings.Contains(out, "pkts = 00000000000000000003") {
		t.Errorf("after a reload the counters read %q", out)
	}
	if out, _ := cmd("get", "localhost_nps_accepted_pkts"); !strings.Contains(out, "pkts = 00000000000000000000") {
		t.Errorf("after reset the counters read %q", out)
	}
	if _, err := cmd("flush"); !errors.Is(err, filter.ErrNFAcctBusy) {
		t.Errorf("flush with a held object: %v", err)
	}
	if out, _ := cmd("list"); strings.Contains(out, "other") {
		t.Errorf("flush left the unused object:\n%s", out)
	}
}

// iptables-restore and iptables-save over the control socket, as
// kube-proxy drives them: a --noflush update replaces one chain, the
// other rules keep their counters, a bad file changes nothing.
func TestControlRestoreAndSave(t *testing.T) {
	rules := testRules
	s := newTestServer(t, &rules)
	forward := func() filter.Action {
		var p packet.Packet
		p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("10.2.0.2"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1}))
		return s.Engine().Hook(&p, nfgo.Meta{Hook: filter.Forward, In: "r0", Out: "r1", Time: time.Now()}).Action
	}
	restore := func(line, body string) (string, error) {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		err := s.Command(context.Background(), strings.Fields(line), w, strings.NewReader(body))
		w.Flush()
		return b.String(), err
	}
	forward()
	for _, step := range []struct {
		line, body string
		wantErr    string // "" for success
		verdict    filter.Action
		save       []string // lines iptables-save -c prints after the step and one more packet
	}{
		{line: "iptables-restore -n", body: "*filter\n:web - [0:0]\n-A web -j DROP\nCOMMIT\n", verdict: filter.Drop,
			save: []string{"[2:80] -A FORWARD -p tcp -m tcp --dport 80 -j web", "[1:40] -A web -j DROP"}},
		{line: "iptables-restore --noflush", body: "*filter\n-A web -j BOGUS\nCOMMIT\n", wantErr: "line 2", verdict: filter.Drop,
			save: []string{"[3:120] -A FORWARD -p tcp -m tcp --dport 80 -j web", "[2:80] -A web -j DROP"}},
		{line: "iptables-restore", body: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", verdict: filter.Accept,
			save: []string{":FORWARD ACCEPT [1:40]"}},
		{line: "iptables-restore --frobnicate", wantErr: "unknown option", verdict: filter.Accept},
	} {
		out, err := restore(step.line, step.body)
		switch {
		case step.wantErr == "" && (err != nil || !strings.Contains(out, "rules restored")):
			t.Errorf("%s: %q, %v; want rules restored", step.line, out, err)
		case step.wantErr != "" && (err == nil || !strings.Contains(err.Error(), step.wantErr)):
			t.Errorf("%s: error %v, want one saying %q", step.line, err, step.wantErr)
		}
		if got := forward(); got != step.verdict {
			t.Errorf("after %s: verdict %v, want %v", step.line, got, step.verdict)
		}
		save, err := command(t, s, "iptables-save -c")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range step.save {
			if !strings.Contains(save, want+"\n") {
				t.Errorf("after %s, iptables-save -c has no %q:\n%s", step.line, want, save)
			}
		}
	}
	if out, err := command(t, s, "iptables-save -t nat"); err != nil || out != "" {
		t.Errorf("iptables-save -t nat of rules without nat: %q, %v", out, err)
	}
	if _, err := command(t, s, "iptables-save -t bogus"); err == nil {
		t.Error("iptables-save -t bogus succeeded")
	}
}
