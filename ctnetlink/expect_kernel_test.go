package ctnetlink

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/helpers"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// ftpMaster is an FTP control connection SNATed to 203.0.113.5:61000,
// with the ftp helper, and the expectation its 227 reply (PASV, port
// 50000) makes: from the client's own address, any source port, NAT
// following the master.
func ftpMaster(ftp conntrack.Helper) (conntrack.Conn, conntrack.Expectation) {
	c := conntrack.Conn{
		Orig:     tuple("192.0.2.10", "198.51.100.20", packet.ProtoTCP, 40000, 21),
		Reply:    tuple("198.51.100.20", "203.0.113.5", packet.ProtoTCP, 21, 61000),
		Status:   conntrack.StatusConfirmed | conntrack.StatusSeenReply | conntrack.StatusAssured | conntrack.StatusSrcNAT | conntrack.StatusSrcNATDone | conntrack.StatusHelper,
		TCPState: conntrack.TCPEstablished, Timeout: 300 * time.Second, Helper: ftp,
	}
	e := conntrack.Expectation{
		Tuple: tuple("192.0.2.10", "198.51.100.20", packet.ProtoTCP, 0, 50000), Mask: conntrack.ExpectAnySrcPort,
		Master: c.Orig, MasterReply: c.Reply, Timeout: 300 * time.Second, Helper: ftp,
		Fn: conntrack.ExpectFollowMaster, Dir: conntrack.Original, SavedPort: 50000,
	}
	return c, e
}

// TestHelperAndExpectationRoundTrip: a master created with its helper
// and an expectation of it are in the kernel as conntrack lists them,
// and dump back to what was created; an expectation of a master
// without a helper is refused, as the kernel refuses it.
func TestHelperAndExpectationRoundTrip(t *testing.T) {
	kernel.Require(t, "ip", "conntrack")
	ns := kernel.NewNetns(t, "ctnl")
	ftp := helpers.New(helpers.Config{}).Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	c, e := ftpMaster(ftp)
	plain := conntrack.Conn{
		Orig:   tuple("192.0.2.11", "198.51.100.20", packet.ProtoTCP, 40001, 21),
		Reply:  tuple("198.51.100.20", "192.0.2.11", packet.ProtoTCP, 21, 40001),
		Status: conntrack.StatusConfirmed | conntrack.StatusSeenReply, TCPState: conntrack.TCPEstablished, Timeout: 300 * time.Second,
	}
	orphan := e
	orphan.Master, orphan.Tuple = plain.Orig, tuple("192.0.2.11", "198.51.100.20", packet.ProtoTCP, 0, 50001)

	var entries []Entry
	var exps []ExpectEntry
	var orphanErr error
	if err := ns.Do(func() error {
		s, err := Open()
		if err != nil {
			return err
		}
		defer s.Close()
		for _, c := range []*conntrack.Conn{&c, &plain} {
			if err := s.Create(c); err != nil {
				return err
			}
		}
		if err := s.CreateExpectation(&e); err != nil {
			return err
		}
		// Created again: left as it is.
		if err := s.CreateExpectation(&e); err != nil {
			return err
		}
		orphanErr = s.CreateExpectation(&orphan)
		if entries, err = s.Dump(); err != nil {
			return err
		}
		exps, err = s.DumpExpectations()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(orphanErr, unix.EOPNOTSUPP) {
		t.Errorf("expectation of a master without a helper: %v, want EOPNOTSUPP", orphanErr)
	}

	list := run(t, ns, "conntrack -L 2>/dev/null")
	if !strings.Contains(list, "sport=40000 dport=21") || !strings.Contains(list, "helper=ftp") {
		t.Errorf("conntrack -L does not show the master with helper=ftp:\n%s", list)
	}
	explist := run(t, ns, "conntrack -L expect 2>/dev/null")
	for _, want := range []string{"proto=6 src=192.0.2.10 dst=198.51.100.20 sport=0 dport=50000", "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535",
		"master-src=192.0.2.10 master-dst=198.51.100.20 sport=40000 dport=21", "helper=ftp"} {
		if !strings.Contains(explist, want) {
			t.Errorf("conntrack -L expect lacks %q:\n%s", want, explist)
		}
	}
	if strings.Contains(explist, "dport=50001") {
		t.Errorf("the refused expectation is listed:\n%s", explist)
	}

	var helperOf = map[conntrack.Tuple]string{}
	for _, en := range entries {
		helperOf[en.Conn.Orig] = en.Helper
	}
	if got := helperOf[c.Orig]; got != "ftp" {
		t.Errorf("dumped master's helper %q, want ftp", got)
	}
	if got, ok := helperOf[plain.Orig]; !ok || got != "" {
		t.Errorf("dumped plain connection's helper %q (listed %v), want none", got, ok)
	}
	if len(exps) != 1 {
		t.Fatalf("dumped %d expectations, want 1", len(exps))
	}
	got := exps[0].Expectation
	if got.Tuple != e.Tuple || got.Master != e.Master || got.Mask != e.Mask || got.SrcBits != 0 {
		t.Errorf("dumped %v master %v mask %v/%d, want %v master %v mask %v", got.Tuple, got.Master, got.Mask, got.SrcBits, e.Tuple, e.Master, e.Mask)
	}
	if got.Fn != e.Fn || got.Dir != e.Dir || got.SavedPort != e.SavedPort || exps[0].Helper != "ftp" {
		t.Errorf("dumped fn %q dir %v saved port %d helper %q, want %q %v %d ftp", got.Fn, got.Dir, got.SavedPort, exps[0].Helper, e.Fn, e.Dir, e.SavedPort)
	}
	if got.Timeout <= 280*time.Second || got.Timeout > 300*time.Second {
		t.Errorf("dumped timeout %v, want about 300s", got.Timeout)
	}
}

// TestAdopterTakesHelpersAndExpectations: connections with a helper and
// their expectations, in the kernel, are adopted with the helper
// attached and the expectation in nfgo's table; Export writes both back.
func TestAdopterTakesHelpersAndExpectations(t *testing.T) {
	kernel.Require(t, "ip", "conntrack")
	ns := kernel.NewNetns(t, "ctnl")
	hs := helpers.New(helpers.Config{})
	ftp := hs.Lookup("ftp", packet.IPv4, packet.ProtoTCP)
	c, e := ftpMaster(ftp)
	if err := ns.Do(func() error {
		s, err := Open()
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.Create(&c); err != nil {
			return err
		}
		return s.CreateExpectation(&e)
	}); err != nil {
		t.Fatal(err)
	}
	tb := conntrack.NewTable(conntrack.Config{Helpers: hs.All()})
	var st AdoptStats
	if err := ns.Do(func() error {
		a, err := NewAdopter(tb, nil)
		if err != nil {
			return err
		}
		st = a.Stats()
		// A second dump does not take the expectation twice.
		if err := a.dump(); err != nil {
			return err
		}
		st.Expectations = a.Stats().Expectations
		return a.Close()
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	got, _, ok := tb.Get(c.Orig, now)
	if !ok || got.Helper == nil || got.Helper.Name() != "ftp" {
		t.Fatalf("adopted master %v (found %v): want it with helper ftp", got.Helper, ok)
	}
	exps := tb.Expectations(now)
	if len(exps) != 1 || st.Expectations != 1 {
		t.Fatalf("nfgo holds %d expectations, Stats counts %d adopted; want 1 and 1", len(exps), st.Expectations)
	}
	if x := exps[0]; x.Tuple != e.Tuple || x.MasterReply != c.Reply || x.Fn != e.Fn || x.Helper == nil || x.Helper.Name() != "ftp" {
		t.Errorf("adopted expectation %v master reply %v fn %q: want %v %v %q with helper ftp", x.Tuple, x.MasterReply, x.Fn, e.Tuple, c.Reply, e.Fn)
	}

	// And back: a flushed kernel gets both from Export.
	ns.MustExec(t, "conntrack -F 2>/dev/null; conntrack -F expect 2>/dev/null; true")
	var n int
	if err := ns.Do(func() (err error) { n, err = Export(tb, now); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Export wrote %d connections, want 1", n)
	}
	if list := run(t, ns, "conntrack -L expect 2>/dev/null"); !strings.Contains(list, "dport=50000") || !strings.Contains(list, "helper=ftp") {
		t.Errorf("conntrack -L expect after Export:\n%s", list)
	}
}

// run is ns.Exec's output, failing the test on an error.
func run(t *testing.T, ns *kernel.Netns, script string) string {
	t.Helper()
	out, err := ns.Exec(script, nil)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}
