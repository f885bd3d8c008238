package bench

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// inputRules is a filter ruleset whose INPUT chain (policy DROP) has n
// rules "-A INPUT <match(i)> -j ACCEPT".
func inputRules(n int, match func(i int) string) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for i := range n {
		fmt.Fprintf(&b, "-A INPUT %s -j ACCEPT\n", match(i))
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// chainRules returns a filter ruleset whose INPUT chain has n rules of
// the common shape "-s NET -p tcp --dport PORT -j ACCEPT", none of which
// matches the benchmark packet, so every rule is evaluated (the worst
// case of a linear chain, and the case iptables users meet).
func chainRules(n int) string {
	return inputRules(n, func(i int) string {
		return fmt.Sprintf("-s 10.%d.%d.0/24 -p tcp -m tcp --dport %d", i>>8&0xff, i&0xff, 1000+i%50000)
	})
}

func mustEngine(tb testing.TB, rules string) *nfgo.Engine {
	return engineWith(tb, nfgo.Config{Host: nfgo.Host{Interfaces: []nfgo.Interface{{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}}}}}, rules)
}

// engineWith is an engine of cfg with the IPv4 rules ("": none).
func engineWith(tb testing.TB, cfg nfgo.Config, rules string) *nfgo.Engine {
	tb.Helper()
	e := nfgo.New(cfg)
	if rules == "" {
		return e
	}
	rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		tb.Fatal(err)
	}
	return e
}

var benchPacket = testpkt.Build(testpkt.Spec{
	Src: netip.MustParseAddr("198.18.0.7"), Dst: netip.MustParseAddr("192.0.2.1"),
	Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: "S", MSS: 1460, Payload: make([]byte, 100),
})

// portRules is chainRules' port shape: "-p tcp --dport PORT -j ACCEPT",
// n rules, none for the benchmark packet's port 22.
func portRules(n int) string {
	return inputRules(n, func(i int) string { return fmt.Sprintf("-p tcp -m tcp --dport %d", 1000+i) })
}

// ifaceRules is the interface shape: "-i vethN -j ACCEPT", n rules, none
// for the benchmark packet's eth0 (a host with a veth per container).
func ifaceRules(n int) string {
	return inputRules(n, func(i int) string { return fmt.Sprintf("-i veth%d", i) })
}

// markRules is the mark shape: "-m mark --mark N/0xffff -j ACCEPT", n
// rules, none for the benchmark packet's mark 0 (policy routing by
// fwmark, a mark per tunnel).
func markRules(n int) string {
	return inputRules(n, func(i int) string { return fmt.Sprintf("-m mark --mark 0x%x/0xffff", i+1) })
}

// BenchmarkChainTraversal runs filter INPUT with n rules, none of which
// matches the packet, so the policy decides: the worst case of a linear
// walk. The address shape's rules test "-s NET -p tcp --dport PORT", the
// port shape's "-p tcp --dport PORT", the interface shape's "-i IFACE",
// the mark shape's "-m mark --mark N/M"; the chain index files them by
// that field, so the cost should not grow with n.
func BenchmarkChainTraversal(b *testing.B) {
	for _, shape := range []struct {
		name  string
		rules func(int) string
	}{{"addr", chainRules}, {"port", portRules}, {"iface", ifaceRules}, {"mark", markRules}} {
		for _, n := range []int{10, 100, 1000, 10000} {
			b.Run(fmt.Sprintf("shape=%s/rules=%d", shape.name, n), func(b *testing.B) {
				e := mustEngine(b, shape.rules(n))
				prog := e.Program(packet.IPv4)
				var p packet.Packet
				p.Decode(benchPacket)
				c := &filter.Context{}
				b.ReportAllocs()
				for b.Loop() {
					c.Reset()
					c.Packet, c.Hook, c.In = &p, filter.Input, "eth0"
					if prog.Run(filter.Filter, c).Rule != 0 {
						b.Fatal("a rule matched")
					}
				}
			})
		}
	}
}

// BenchmarkEnginePath is the engine end to end: decode a 152-byte
// IPv4/TCP packet and run its whole path (PREROUTING, routing, INPUT)
// through a 100-rule ruleset, against the baseline of decoding alone.
func BenchmarkEnginePath(b *testing.B) {
	e := mustEngine(b, chainRules(100))
	now := time.Unix(1_700_000_000, 0)
	b.Run("decode-only", func(b *testing.B) {
		var p packet.Packet
		b.ReportAllocs()
		for b.Loop() {
			p.Decode(benchPacket)
		}
	})
	b.Run("decode+path", func(b *testing.B) {
		var p packet.Packet
		b.ReportAllocs()
		for b.Loop() {
			p.Decode(benchPacket)
			e.Path(&p, nfgo.Meta{In: "eth0", Time: now})
		}
	})
}

// BenchmarkSYNFlood is a SYN flood's cost per SYN at a server's INPUT,
// the SYNs untracked as SYNPROXY's deployment has them: dropped (the
// baseline), answered with a RST (REJECT), and answered with a SYN
// cookie (SYNPROXY: the SYN/ACK built, passed through OUTPUT and
// POSTROUTING, and copied into the verdict).
func BenchmarkSYNFlood(b *testing.B) {
	syn := testpkt.Build(testpkt.Spec{
		Src: netip.MustParseAddr("198.18.0.7"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S", Seq: 1,
		TCPOptions: []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7},
	})
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct{ name, target string }{
		{"drop", "DROP"},
		{"reject", "REJECT --reject-with tcp-reset"},
		{"synproxy", "SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460"},
	} {
		e := mustEngine(b, "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n"+
			"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
			"-A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j "+tt.target+"\nCOMMIT\n")
		b.Run(tt.name, func(b *testing.B) {
			buf := make([]byte, len(syn))
			var p packet.Packet
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, syn)
				p.Decode(buf)
				e.Path(&p, nfgo.Meta{In: "eth0", Time: now})
			}
		})
	}
}

// kubeRules is a kube-proxy-shaped ruleset (iptables mode) with n
// services of two endpoints each: KUBE-SERVICES sends each cluster IP
// and port to its service chain, which picks an endpoint with
// statistic random, whose chain marks hairpin traffic for masquerade
// and DNATs; POSTROUTING masquerades what was marked (--random-fully).
func kubeRules(n int) string {
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	b.WriteString(":KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n")
	for i := range n {
		fmt.Fprintf(&b, ":KUBE-SVC-%d - [0:0]\n:KUBE-SEP-%d-0 - [0:0]\n:KUBE-SEP-%d-1 - [0:0]\n", i, i, i)
	}
	b.WriteString("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n")
	b.WriteString("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n")
	b.WriteString("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n")
	b.WriteString("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n")
	b.WriteString("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n")
	b.WriteString("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n")
	b.WriteString("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n")
	for i := range n {
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m comment --comment \"default/svc-%d:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%d\n", i>>8, i&0xff, i, i)
		fmt.Fprintf(&b, "-A KUBE-SVC-%d ! -s 10.244.0.0/16 -d 10.96.%d.%d/32 -p tcp -m comment --comment \"default/svc-%d:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", i, i>>8, i&0xff, i)
		fmt.Fprintf(&b, "-A KUBE-SVC-%d -m comment --comment \"default/svc-%d:http -> 10.244.%d.%d:8080\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-%d-0\n", i, i, i>>7, (i&0x7f)*2, i)
		fmt.Fprintf(&b, "-A KUBE-SVC-%d -m comment --comment \"default/svc-%d:http -> 10.244.%d.%d:8080\" -j KUBE-SEP-%d-1\n", i, i, i>>7, (i&0x7f)*2+1, i)
		for j := range 2 {
			fmt.Fprintf(&b, "-A KUBE-SEP-%d-%d -s 10.244.%d.%d/32 -m comment --comment \"default/svc-%d:http\" -j KUBE-MARK-MASQ\n", i, j, i>>7, (i&0x7f)*2+j, i)
			fmt.Fprintf(&b, "-A KUBE-SEP-%d-%d -p tcp -m comment --comment \"default/svc-%d:http\" -m tcp -j DNAT --to-destination 10.244.%d.%d:8080\n", i, j, i, i>>7, (i&0x7f)*2+j)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// BenchmarkKubeProxyNewConnection opens a new connection to the last of
// n services of a kube-proxy-shaped nat table (the worst case of
// KUBE-SERVICES' linear walk), through Path: conntrack, the nat chains,
// DNAT to an endpoint, MASQUERADE --random-fully. The connections are
// forgotten every 32768 packets, so each packet is a first one.
func BenchmarkKubeProxyNewConnection(b *testing.B) {
	host := nfgo.Host{Interfaces: []nfgo.Interface{
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.244.255.254/16")}},
	}, Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.244.0.0/16"), Out: "eth1"}}, DefaultOut: "eth0"}
	// services=0 is the baseline: the same new flows through no rules.
	for _, n := range []int{0, 10, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			rules := ""
			if n > 0 {
				rules = kubeRules(n)
			}
			e := engineWith(b, nfgo.Config{Host: host}, rules)
			last := max(n-1, 0)
			syn := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("192.0.2.50"), Dst: netip.AddrFrom4([4]byte{10, 96, byte(last >> 8), byte(last)}),
				Proto: "tcp", SrcPort: 1, DstPort: 80, Flags: "S", Seq: 1})
			runNewConnections(b, e, syn)
		})
	}
}

// runNewConnections sends syn, a SYN from eth0, each time from another
// source port (1024 on), through e.Path, so that each is a new
// connection's first packet; every 32768 the connections are forgotten,
// the timer stopped.
func runNewConnections(b *testing.B, e *nfgo.Engine, syn []byte) {
	buf := make([]byte, len(syn))
	now := time.Unix(1_700_000_000, 0)
	var p packet.Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%32768 == 0 {
			b.StopTimer()
			e.Conntrack().Flush(now)
			b.StartTimer()
		}
		copy(buf, syn)
		sport := 1024 + i%32768
		buf[20], buf[21] = byte(sport>>8), byte(sport)
		p.Decode(buf)
		p.ComputeChecksums()
		if v := e.Path(&p, nfgo.Meta{In: "eth0", Time: now}); v.Action != filter.Accept {
			b.Fatalf("%v", v)
		}
	}
}

// kubeServiceUpdate is what kube-proxy restores (--noflush) when one
// service's endpoints change: its chains declared (and so flushed) and
// filled again.
func kubeServiceUpdate(i int) string {
	full := kubeRules(i + 1)
	var b strings.Builder
	b.WriteString("*nat\n")
	fmt.Fprintf(&b, ":KUBE-SVC-%d - [0:0]\n:KUBE-SEP-%d-0 - [0:0]\n:KUBE-SEP-%d-1 - [0:0]\n", i, i, i)
	for _, l := range strings.Split(full, "\n") {
		for _, c := range []string{"KUBE-SVC-", "KUBE-SEP-"} {
			if strings.HasPrefix(l, fmt.Sprintf("-A %s%d", c, i)) && (strings.HasPrefix(l, fmt.Sprintf("-A %s%d ", c, i)) || strings.HasPrefix(l, fmt.Sprintf("-A %s%d-", c, i))) {
				b.WriteString(l + "\n")
			}
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// BenchmarkKubeProxyRuleset is kube-proxy's pain at scale: loading a
// 10,000-service ruleset (about 70,000 rules: parse, compile, install),
// and updating one service with a --noflush restore into it; then the
// same two with the real iptables-restore into a namespace's kernel
// tables (as root), the process start included, as kube-proxy runs it.
func BenchmarkKubeProxyRuleset(b *testing.B) {
	const n = 10000
	full := kubeRules(n)
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			rs, err := iptables.Parse(strings.NewReader(full), packet.IPv4)
			if err != nil {
				b.Fatal(err)
			}
			e := nfgo.New(nfgo.Config{})
			if err := e.SetRuleset(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update-one-service", func(b *testing.B) {
		rs, err := iptables.Parse(strings.NewReader(full), packet.IPv4)
		if err != nil {
			b.Fatal(err)
		}
		e := nfgo.New(nfgo.Config{})
		if err := e.SetRuleset(rs); err != nil {
			b.Fatal(err)
		}
		upd := kubeServiceUpdate(n / 2)
		for b.Loop() {
			next, err := iptables.Restore(strings.NewReader(upd), rs, iptables.ReadOptions{NoFlush: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := e.SetRuleset(next); err != nil {
				b.Fatal(err)
			}
			rs = next
		}
	})
	kernelRestore := func(b *testing.B, ns *kernel.Netns, args string, rules []byte) {
		if out, err := ns.Exec("iptables-restore "+args, rules); err != nil {
			b.Fatalf("iptables-restore %s: %v: %s", args, err, out)
		}
	}
	b.Run("kernel-load", func(b *testing.B) {
		kernel.Require(b, "ip", "iptables-restore")
		ns := kernel.NewNetns(b, "kube")
		if out, err := ns.Exec("iptables-restore --version", nil); err == nil {
			b.Logf("%s", bytes.TrimSpace(out))
		}
		for b.Loop() {
			kernelRestore(b, ns, "", []byte(full))
		}
	})
	b.Run("kernel-update-one-service", func(b *testing.B) {
		kernel.Require(b, "ip", "iptables-restore")
		ns := kernel.NewNetns(b, "kube")
		kernelRestore(b, ns, "", []byte(full))
		upd := []byte(kubeServiceUpdate(n / 2))
		for b.Loop() {
			kernelRestore(b, ns, "--noflush", upd)
		}
	})
}

// forwardHost is a router between eth0 (192.0.2.0/24) and eth1
// (10.0.0.0/8).
var forwardHost = nfgo.Host{Interfaces: []nfgo.Interface{
	{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
	{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}},
}, Routes: []nfgo.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"}}, DefaultOut: "eth0"}

// BenchmarkEstablishedForward is the common packet: a 40-byte ACK of an
// established TCP connection, forwarded (PREROUTING, routing, FORWARD,
// POSTROUTING), through no rules, a stateful-accept FORWARD, and SNAT
// in POSTROUTING; both directions.
func BenchmarkEstablishedForward(b *testing.B) {
	client, server := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("10.1.2.3")
	for _, tt := range []struct{ name, rules string }{
		{"empty", ""},
		{"stateful", "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
			"-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"},
		{"snat", "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
			"-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1\nCOMMIT\n"},
	} {
		e := engineWith(b, nfgo.Config{Host: forwardHost}, tt.rules)
		now := time.Unix(1_700_000_000, 0)
		natted := client
		if tt.name == "snat" {
			natted = netip.MustParseAddr("10.0.0.1")
		}
		orig := func(flags string, seq, ack uint32) []byte {
			return testpkt.Build(testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: flags, Seq: seq, Ack: ack})
		}
		reply := func(flags string, seq, ack uint32) []byte {
			return testpkt.Build(testpkt.Spec{Src: server, Dst: natted, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: flags, Seq: seq, Ack: ack})
		}
		var p packet.Packet
		for _, s := range []struct {
			pkt []byte
			in  string
		}{{orig("S", 100, 0), "eth0"}, {reply("SA", 500, 101), "eth1"}, {orig("A", 101, 501), "eth0"}} {
			p.Decode(s.pkt)
			if v := e.Path(&p, nfgo.Meta{In: s.in, Time: now}); v.Action != filter.Accept {
				b.Fatalf("%s: handshake packet: %v", tt.name, v)
			}
		}
		for _, dir := range []struct {
			name string
			pkt  []byte
			in   string
		}{{"original", orig("A", 101, 501), "eth0"}, {"reply", reply("A", 501, 101), "eth1"}} {
			b.Run(fmt.Sprintf("rules=%s/dir=%s", tt.name, dir.name), func(b *testing.B) {
				buf := make([]byte, len(dir.pkt))
				b.ReportAllocs()
				for b.Loop() {
					copy(buf, dir.pkt)
					p.Decode(buf)
					if v := e.Path(&p, nfgo.Meta{In: dir.in, Time: now}); v.Action != filter.Accept {
						b.Fatalf("%v", v)
					}
				}
			})
		}
	}
}

// BenchmarkParallelEstablished is BenchmarkEstablishedForward's
// stateful case from several goroutines at once, each with its own
// connection: run with -cpu 1,2, the wall time per packet shows how the
// path scales (the rule counters, conntrack's shards, the pool).
func BenchmarkParallelEstablished(b *testing.B) {
	const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
	for _, offload := range []bool{false, true} {
		b.Run(fmt.Sprintf("offload=%v", offload), func(b *testing.B) {
			e := engineWith(b, nfgo.Config{Host: forwardHost, FlowOffload: offload}, rules)
			now := time.Unix(1_700_000_000, 0)
			client, server := netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("10.1.2.3")
			var next atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				port := uint16(40000 + next.Add(1))
				var p packet.Packet
				for _, s := range []struct {
					spec testpkt.Spec
					in   string
				}{
					{testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: "S", Seq: 100}, "eth0"},
					{testpkt.Spec{Src: server, Dst: client, Proto: "tcp", SrcPort: 80, DstPort: port, Flags: "SA", Seq: 500, Ack: 101}, "eth1"},
					{testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: "A", Seq: 101, Ack: 501}, "eth0"},
				} {
					p.Decode(testpkt.Build(s.spec))
					e.Path(&p, nfgo.Meta{In: s.in, Time: now})
				}
				ack := testpkt.Build(testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: port, DstPort: 80, Flags: "A", Seq: 101, Ack: 501})
				buf := make([]byte, len(ack))
				for pb.Next() {
					copy(buf, ack)
					p.Decode(buf)
					if v := e.Path(&p, nfgo.Meta{In: "eth0", Time: now}); v.Action != filter.Accept {
						b.Errorf("%v", v)
						return
					}
				}
			})
		})
	}
}

// BenchmarkNewNATConnection is the first packet of a new forwarded TCP
// connection through one NAT rule at a time, against no rules: what
// each binding costs (the port search, its reservation, the NAT index
// inserts at confirm). Connections are forgotten every 32768 packets.
func BenchmarkNewNATConnection(b *testing.B) {
	const head = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
	for _, tt := range []struct{ name, rules string }{
		{"none", ""},
		{"null-binding", head + "COMMIT\n"},
		{"dnat", head + "-A PREROUTING -d 10.1.2.3/32 -p tcp -j DNAT --to-destination 10.9.9.9:8080\nCOMMIT\n"},
		{"snat", head + "-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.0.1\nCOMMIT\n"},
		{"masquerade-random-fully", head + "-A POSTROUTING -o eth1 -j MASQUERADE --random-fully\nCOMMIT\n"},
		{"dnat+masquerade", head + "-A PREROUTING -d 10.1.2.3/32 -p tcp -j DNAT --to-destination 10.9.9.9:8080\n" +
			"-A POSTROUTING -o eth1 -j MASQUERADE --random-fully\nCOMMIT\n"},
	} {
		b.Run("rules="+tt.name, func(b *testing.B) {
			e := engineWith(b, nfgo.Config{Host: forwardHost}, tt.rules)
			syn := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("192.0.2.50"), Dst: netip.MustParseAddr("10.1.2.3"),
				Proto: "tcp", SrcPort: 1, DstPort: 80, Flags: "S", Seq: 1})
			runNewConnections(b, e, syn)
		})
	}
}
