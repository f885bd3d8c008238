package ctnetlink

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// kernelConns are made with conntrack -I; each must dump to the tuples
// conntrack -L prints and come back the same when nfgo creates it.
var kernelConns = []struct {
	args, orig, reply string
	state             conntrack.TCPState
	mark              uint32
	zone              uint16
	snat, dnat        string
}{
	{args: "-p tcp -s 192.0.2.10 -d 198.51.100.20 --sport 40000 --dport 80 --state ESTABLISHED -t 300 -u ASSURED,SEEN_REPLY --src-nat 203.0.113.5:61000 -m 42",
		orig: "src=192.0.2.10 dst=198.51.100.20 sport=40000 dport=80", reply: "src=198.51.100.20 dst=203.0.113.5 sport=80 dport=61000",
		state: conntrack.TCPEstablished, mark: 42, snat: "203.0.113.5:61000"},
	{args: "-p tcp -s 192.0.2.13 -d 198.51.100.23 --sport 40001 --dport 8080 --state SYN_SENT -t 100 --dst-nat 10.0.0.5:80 -w 7",
		orig: "src=192.0.2.13 dst=198.51.100.23 sport=40001 dport=8080", reply: "src=10.0.0.5 dst=192.0.2.13 sport=80 dport=40001",
		state: conntrack.TCPSynSent, zone: 7, dnat: "10.0.0.5:80"},
	{args: "-p udp -s 2001:db8::1 -d 2001:db8:1::2 --sport 5000 --dport 53 -t 30 --src-nat 2001:db8:ff::1",
		orig: "src=2001:db8::1 dst=2001:db8:1::2 sport=5000 dport=53", reply: "src=2001:db8:1::2 dst=2001:db8:ff::1 sport=53 dport=5000",
		snat: "[2001:db8:ff::1]:5000"},
	{args: "-p icmp -s 192.0.2.12 -d 198.51.100.22 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 30",
		orig: "src=192.0.2.12 dst=198.51.100.22 type=8 code=0 id=4660", reply: "src=198.51.100.22 dst=192.0.2.12 type=0 code=0 id=4660"},
}

func tupleText(t conntrack.Tuple) string { return t.String() }

// p0Orig is kernelConns[0]'s original tuple.
func p0Orig() conntrack.Tuple {
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("192.0.2.10"), Dst: netip.MustParseAddr("198.51.100.20"),
		Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A"}))
	tp, _ := conntrack.TupleOf(&p, 0)
	return tp
}

// TestDumpAndCreateRoundTrip dumps connections made with conntrack -I,
// checks them against what conntrack -L prints, flushes the kernel's
// table, creates them again through ctnetlink, and checks that the
// kernel lists the same: the reply tuples it computed from the NAT
// bindings equal the originals.
func TestDumpAndCreateRoundTrip(t *testing.T) {
	kernel.Require(t, "ip", "conntrack")
	ns := kernel.NewNetns(t, "ctnl")
	for _, kc := range kernelConns {
		ns.MustExec(t, "conntrack -I "+kc.args+" 2>&1")
	}
	var dumped []conntrack.Conn
	if err := ns.Do(func() error {
		s, err := Open()
		if err != nil {
			return err
		}
		defer s.Close()
		entries, err := s.Dump()
		for _, en := range entries {
			dumped = append(dumped, en.Conn)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(dumped) != len(kernelConns) {
		t.Fatalf("dumped %d connections, made %d", len(dumped), len(kernelConns))
	}
	find := func(orig string) *conntrack.Conn {
		for i := range dumped {
			if strings.Contains(tupleText(dumped[i].Orig), orig) {
				return &dumped[i]
			}
		}
		return nil
	}
	for _, kc := range kernelConns {
		c := find(kc.orig)
		if c == nil {
			t.Errorf("no dumped connection %s", kc.orig)
			continue
		}
		if got := tupleText(c.Reply); !strings.Contains(got, kc.reply) {
			t.Errorf("%s: reply %s, want %s", kc.orig, got, kc.reply)
		}
		if c.TCPState != kc.state || c.Mark != kc.mark || c.Orig.Zone != kc.zone {
			t.Errorf("%s: state %v mark %d zone %d, want %v %d %d", kc.orig, c.TCPState, c.Mark, c.Orig.Zone, kc.state, kc.mark, kc.zone)
		}
		if c.Timeout <= 0 || c.Timeout > 300*time.Second {
			t.Errorf("%s: timeout %v", kc.orig, c.Timeout)
		}
		snat, dnat := Bindings(c)
		if got := addrPortText(snat); got != kc.snat {
			t.Errorf("%s: SNAT %q, want %q", kc.orig, got, kc.snat)
		}
		if got := addrPortText(dnat); got != kc.dnat {
			t.Errorf("%s: DNAT %q, want %q", kc.orig, got, kc.dnat)
		}
	}
	before := listing(t, ns)
	ns.MustExec(t, "conntrack -F 2>/dev/null")
	if err := ns.Do(func() error {
		s, err := Open()
		if err != nil {
			return err
		}
		defer s.Close()
		for i := range dumped {
			if err := s.Create(&dumped[i]); err != nil {
				return err
			}
		}
		// Created again over an existing one: replaced.
		return s.Create(&dumped[0])
	}); err != nil {
		t.Fatal(err)
	}
	if after := listing(t, ns); !slices.Equal(before, after) {
		t.Errorf("conntrack -L after the round trip:\n%s\nbefore:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
}

func addrPortText(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// listing is conntrack -L without the timeouts, sorted.
func listing(t *testing.T, ns *kernel.Netns) []string {
	t.Helper()
	out, err := ns.Exec("conntrack -L 2>/dev/null", nil)
	if err != nil {
		t.Fatalf("conntrack -L: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) > 2 {
			f[2] = "T" // the timeout
		}
		lines = append(lines, strings.Join(f, " "))
	}
	slices.Sort(lines)
	return lines
}

// TestAdopterFollowsTheKernel adopts a table, then follows its events
// and dumps: a connection made after the first dump is adopted, one
// deleted in the kernel is deleted, and one nfgo has seen a packet of
// is left alone. The first connection is made before anyone listens,
// with nf_conntrack_events at 2, so the kernel never reports it: only
// the dumps see its deletion.
func TestAdopterFollowsTheKernel(t *testing.T) {
	kernel.Require(t, "ip", "conntrack")
	ns := kernel.NewNetns(t, "ctnl")
	ns.MustExec(t, "sysctl -qw net.netfilter.nf_conntrack_events=2; conntrack -I "+kernelConns[0].args+" 2>&1; conntrack -I "+kernelConns[2].args+" 2>&1")
	tb := conntrack.NewTable(conntrack.Config{})
	var a *Adopter
	if err := ns.Do(func() (err error) {
		a, err = NewAdopter(tb, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 2 {
		t.Fatalf("adopted %d connections from a table of 2", tb.Len())
	}
	a.DumpInterval = 500 * time.Millisecond
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	ns.MustExec(t, "conntrack -I "+kernelConns[3].args+" 2>&1")
	kernel.WaitFor(t, "the new connection", func() bool { return tb.Len() == 3 })
	ns.MustExec(t, "conntrack -D -p icmp 2>&1")
	kernel.WaitFor(t, "the deletion by event", func() bool { return tb.Len() == 2 })
	ns.MustExec(t, "conntrack -D -f ipv6 -p udp 2>&1")
	kernel.WaitFor(t, "the deletion seen by a dump", func() bool { return tb.Len() == 1 })
	// A packet of the first connection through nfgo's table makes it
	// nfgo's: the kernel's deletion no longer applies.
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("192.0.2.10"), Dst: netip.MustParseAddr("198.51.100.20"),
		Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "A", Seq: 1000, Ack: 2000}))
	var r conntrack.Result
	tb.In(&r, &p, 0, time.Now(), true)
	tb.Confirm(&r)
	if c, _, _ := tb.Get(p0Orig(), time.Now()); c.Counters[conntrack.Original].Packets != 1 {
		t.Fatalf("the adopted connection did not count nfgo's packet: %+v", c)
	}
	ns.MustExec(t, "conntrack -D -p tcp 2>&1")
	dumps := a.Stats().Dumps
	kernel.WaitFor(t, "two more dumps", func() bool { return a.Stats().Dumps >= dumps+2 })
	if tb.Len() != 1 {
		t.Errorf("nfgo's own connection was deleted with the kernel's")
	}
}
