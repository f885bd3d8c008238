package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Router is a kernel router in a throwaway network namespace, built as
// reference/kernel-harness.md describes: two TUN devices named like nfgo
// replay's defaults, eth0 (in, carrying the router's own addresses) and
// eth1 (out, the default route), forwarding on, and a separate nftables
// table of counting chains that tells what happened to each packet.
type Router struct {
	Name    string
	in, out *os.File
	// last holds the counters after the previous packet, so each Send
	// reads them once.
	last map[string]uint64
	// socks are the UDP sockets SendUDPFromHost opened, by source, kept
	// open until the test ends.
	socks map[netip.AddrPort]int
	// vnet says the TUN devices carry a virtio_net_hdr before each
	// packet (RouterOptions.PartialChecksums).
	vnet bool
}

// The router's own addresses, on eth0, as "nfgo replay --local" gets them,
// and on eth1 (its outside, for MASQUERADE).
const (
	RouterAddr4  = "192.0.2.1"
	RouterAddr6  = "2001:db8::1"
	OutsideAddr4 = "198.51.100.254"
	OutsideAddr6 = "2001:db8:ffff::1"
)

var routerSeq atomic.Int32

// RouterOptions change how the router treats packets it sends itself.
type RouterOptions struct {
	// LocalReplies lets the router's own packets (REJECT responses, ICMP
	// errors, RSTs from its stack) leave, so Fate.Replies holds them. By
	// default they are counted and dropped before conntrack, so they
	// cannot disturb the flows under test.
	LocalReplies bool
	// PartialChecksums opens the TUN devices with a virtio_net_hdr and
	// checksum offload, so that SendPartial can inject a packet whose
	// transport checksum is left to the card (CHECKSUM_PARTIAL) and
	// Fate.EmittedPartial says which emitted packets still have one.
	PartialChecksums bool
	// Conntrack observes each packet's conntrack state (Fate.CTState) with
	// a counting chain at prerouting priority −190, just after conntrack
	// (−200). Its ct expressions turn conntrack on in the namespace, with
	// defragmentation and checksum validation, as any stateful ruleset
	// does.
	Conntrack bool
	// Outside puts OutsideAddr4 and OutsideAddr6 on eth1, for
	// MASQUERADE. (It changes the source the kernel picks for the ICMP
	// errors it sends out of eth1.)
	Outside bool
	// Broadcast gives eth0's IPv4 address RouterAddr4/24 its broadcast
	// address, 192.0.2.255, as "ip addr add ... brd +" does and as nfgo
	// gives every --local prefix. Without it the address has none
	// (ifa_broadcast 0, though the broadcast route exists), and the
	// kernel's broadcast helpers (netbios-ns, snmp) expect nothing for
	// the router's own broadcasts.
	Broadcast bool
}

// NewRouter builds the router. The namespace is deleted when the test
// ends. Call Require first.
func NewRouter(t testing.TB, opts RouterOptions) *Router {
	t.Helper()
	r := &Router{Name: fmt.Sprintf("nfgo-test-%d-%d", os.Getpid(), routerSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", r.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		for _, fd := range r.socks {
			unix.Close(fd)
		}
		if r.in != nil {
			r.in.Close()
		}
		if r.out != nil {
			r.out.Close()
		}
		exec.Command("ip", "netns", "delete", r.Name).Run()
	})
	r.mustExec(t, "ip link set lo up; ip tuntap add dev eth0 mode tun; ip tuntap add dev eth1 mode tun")
	var err error
	r.vnet = opts.PartialChecksums
	if r.in, err = r.openTUN("eth0"); err != nil {
		t.Fatalf("open eth0: %v", err)
	}
	if r.out, err = r.openTUN("eth1"); err != nil {
		t.Fatalf("open eth1: %v", err)
	}
	brd := ""
	if opts.Broadcast {
		brd = " brd +"
	}
	r.mustExec(t, strings.Join([]string{
		"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
		"sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
		"sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0",
		// ICMP errors (REJECT's among them) are rate limited per peer;
		// a test sends many in a row and must see every one.
		"sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=1000000",
		"ip addr add " + RouterAddr4 + "/24" + brd + " dev eth0",
		"ip -6 addr add " + RouterAddr6 + "/64 dev eth0 nodad",
		"ip link set eth0 up", "ip link set eth1 up",
		"sysctl -qw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0",
		"ip route add default dev eth1", "ip -6 route add default dev eth1",
	}, "; "))
	if opts.Outside {
		r.mustExec(t, "ip addr add "+OutsideAddr4+"/32 dev eth1; ip -6 addr add "+OutsideAddr6+"/128 dev eth1 nodad")
	}
	// The counting chains: accepted at input and forward after filter
	// (0) and security (50); leaving at postrouting after nat (100);
	// and every packet the router's own stack sends (RSTs, ICMP errors,
	// MLD) counted and dropped before conntrack, so it cannot disturb
	// the flows under test.
	verdict := "drop"
	if opts.LocalReplies {
		verdict = "accept"
	}
	// postrouting counts only forwarded packets (they have an input
	// interface); the router's own packets are counted at local_out.
	// Multicast is not observed: the kernel's own MLD and IGMP reports
	// loop back into INPUT on their own schedule and would be counted
	// against whatever packet is under test.
	r.mustExec(t, `nft -f - <<'EOF'
table inet nfgo_observe {
	chain input { type filter hook input priority 500; ip6 daddr ff00::/8 return; ip daddr 224.0.0.0/4 return; counter; }
	chain forward { type filter hook forward priority 500; counter; }
	chain postrouting { type filter hook postrouting priority 500; ip6 daddr ff00::/8 return; ip daddr 224.0.0.0/4 return; iifname "eth0" counter; }
	chain local_out { type filter hook output priority -400; counter `+verdict+`; }
}
EOF`)
	if opts.Conntrack {
		// Per-connection counters, so conntrack -L shows packets and
		// bytes as nfgo does.
		r.mustExec(t, "sysctl -qw net.netfilter.nf_conntrack_acct=1")
		r.mustExec(t, `nft -f - <<'EOF'
table inet nfgo_ct {
	chain ctstate {
		type filter hook prerouting priority -190;
		ip6 daddr ff00::/8 return
		ct state new counter
		ct state established counter
		ct state related counter
		ct state invalid counter
		ct state untracked counter
		ct direction reply counter
	}
	chain ctstate_out {
		type filter hook output priority -190;
		ip6 daddr ff00::/8 return
		ip daddr 224.0.0.0/4 return
		ct state new counter
		ct state established counter
		ct state related counter
		ct state invalid counter
		ct state untracked counter
		ct direction reply counter
	}
}
EOF`)
	}
	time.Sleep(20 * time.Millisecond)
	r.drain(r.out)
	r.drain(r.in)
	return r
}

func (r *Router) mustExec(t testing.TB, script string) {
	t.Helper()
	if out, err := r.Exec(script, nil); err != nil {
		t.Fatalf("in %s: %s: %v: %s", r.Name, script, err, out)
	}
}

// Exec runs a shell script inside the router's namespace.
func (r *Router) Exec(script string, stdin []byte) ([]byte, error) {
	cmd := exec.Command("ip", "netns", "exec", r.Name, "sh", "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.CombinedOutput()
}

// Restore loads a ruleset with iptables-restore (ip6tables-restore).
func (r *Router) Restore(rules []byte, v6 bool) error {
	r.last = nil
	tool := "iptables-restore"
	if v6 {
		tool = "ip6tables-restore"
	}
	if out, err := r.Exec(tool, rules); err != nil {
		return fmt.Errorf("%s: %v: %s", tool, err, out)
	}
	return nil
}

// Fate is what the kernel did with one injected packet.
type Fate struct {
	// Input, Forward: the packet was accepted at that hook.
	Input, Forward bool
	// Left: the packet passed POSTROUTING (forwarded out).
	Left bool
	// Emitted holds the packets read from eth1 after the injection.
	Emitted [][]byte
	// EmittedPartial says, with RouterOptions.PartialChecksums, which
	// of Emitted left with their transport checksum still partial
	// (VIRTIO_NET_HDR_F_NEEDS_CSUM): its field holds the pseudo-header's
	// sum, for the card to complete.
	EmittedPartial []bool
	// CTState is the conntrack state the kernel gave the packet ("new",
	// "established", "related", "invalid", "untracked"), with
	// RouterOptions.Conntrack; "" if no counter moved. CTReply is true
	// for the reply direction.
	CTState string
	CTReply bool
	// Replies holds the packets the router sent back out of eth0 (with
	// RouterOptions.LocalReplies), and Local how many packets the
	// router's own stack sent.
	Replies [][]byte
	Local   uint64
}

// Accepted reports whether the router let the packet through to its
// destination: delivered locally, or forwarded out.
func (f Fate) Accepted() bool { return f.Input || f.Left }

// Send injects a layer-3 packet as received on eth0 and reports its fate.
func (r *Router) Send(pkt []byte) (Fate, error) {
	return r.send(pkt, 0, 0)
}

// SendPartial injects a packet whose transport checksum is partial: the
// field at csumStart+csumOffset holds the pseudo-header's sum, and the
// packet arrives as CHECKSUM_PARTIAL, as from a local guest. It needs
// RouterOptions.PartialChecksums.
func (r *Router) SendPartial(pkt []byte, csumStart, csumOffset int) (Fate, error) {
	if !r.vnet {
		return Fate{}, fmt.Errorf("SendPartial needs RouterOptions.PartialChecksums")
	}
	return r.send(pkt, csumStart, csumOffset)
}

// vnetHdrLen is struct virtio_net_hdr's size.
const vnetHdrLen = 10

func (r *Router) send(pkt []byte, csumStart, csumOffset int) (Fate, error) {
	if r.vnet {
		// struct virtio_net_hdr, in the host's byte order (little
		// endian here): flags, gso_type, hdr_len, gso_size,
		// csum_start, csum_offset.
		var h [vnetHdrLen]byte
		if csumOffset != 0 {
			h[0] = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
			binary.LittleEndian.PutUint16(h[6:], uint16(csumStart))
			binary.LittleEndian.PutUint16(h[8:], uint16(csumOffset))
		}
		pkt = append(h[:], pkt...)
	}
	return r.observe("ct:", func() error {
		if _, err := r.in.Write(pkt); err != nil {
			return fmt.Errorf("write to eth0: %w", err)
		}
		return nil
	})
}

// SendOut injects a layer-3 packet as received on eth1, from the
// outside (a server answering a client on eth0's side), and reports its
// fate: what the router forwards to eth0 is in Fate.Replies.
func (r *Router) SendOut(pkt []byte) (Fate, error) {
	if r.vnet {
		pkt = append(make([]byte, vnetHdrLen), pkt...)
	}
	return r.observe("ct:", func() error {
		if _, err := r.out.Write(pkt); err != nil {
			return fmt.Errorf("write to eth1: %w", err)
		}
		return nil
	})
}

// SendUDPFromHost sends a UDP datagram from the router's own stack, as
// a program on the router does: from a socket bound to src (one of the
// router's addresses, RouterAddr4 say), with SO_BROADCAST set so that
// dst may be a broadcast address, and reports its fate. The packet has
// the kernel's skb->sk and its route, as the broadcast helpers want.
// The socket stays open until the test ends, and is used again for the
// same src, so that datagrams answering it are delivered to it rather
// than refused with port unreachable. The router's own packets pass
// OUTPUT only with RouterOptions.LocalReplies; Fate.Replies and
// Fate.Emitted then hold what left by eth0 and eth1, and, with
// RouterOptions.Conntrack, Fate.CTState is the state conntrack gave the
// packet at OUTPUT. (A broadcast is also looped back to the router, so
// Fate.Input may be set.)
func (r *Router) SendUDPFromHost(src, dst netip.AddrPort, payload []byte) (Fate, error) {
	fd, ok := r.socks[src]
	if !ok {
		err := r.inNetns(func() error {
			var err error
			domain := unix.AF_INET
			if src.Addr().Is6() {
				domain = unix.AF_INET6
			}
			if fd, err = unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0); err != nil {
				return err
			}
			if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err == nil {
				err = unix.Bind(fd, sockaddr(src))
			}
			if err != nil {
				unix.Close(fd)
			}
			return err
		})
		if err != nil {
			return Fate{}, fmt.Errorf("UDP socket on %v: %w", src, err)
		}
		if r.socks == nil {
			r.socks = map[netip.AddrPort]int{}
		}
		r.socks[src] = fd
	}
	return r.observe("ctout:", func() error {
		if err := unix.Sendto(fd, payload, 0, sockaddr(dst)); err != nil {
			return fmt.Errorf("send from %v to %v: %w", src, dst, err)
		}
		return nil
	})
}

// sockaddr converts an address and port for the socket calls.
func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// observe runs inject, which puts one packet into the router, and
// reports the packet's fate; its conntrack state is read from the
// counters named ct (the prerouting chain's "ct:", the output chain's
// "ctout:").
func (r *Router) observe(ct string, inject func() error) (Fate, error) {
	before := r.last
	if before == nil {
		var err error
		if before, err = r.counters(); err != nil {
			return Fate{}, err
		}
	}
	if err := inject(); err != nil {
		return Fate{}, err
	}
	// The kernel usually handles the packet within the write, but a busy
	// machine may defer it to ksoftirqd: wait until a counter moves and
	// then holds still, or until nothing has moved for a while (a drop).
	var after map[string]uint64
	changed := false
	for i := 0; i < 25; i++ {
		time.Sleep(time.Millisecond)
		now, err := r.counters()
		if err != nil {
			return Fate{}, err
		}
		if changed && maps.Equal(now, after) {
			break
		}
		after = now
		changed = changed || !maps.Equal(now, before)
	}
	r.last = after
	f := Fate{
		Input:   after["input"] > before["input"],
		Forward: after["forward"] > before["forward"],
		Left:    after["postrouting"] > before["postrouting"],
		Local:   after["local_out"] - before["local_out"],
	}
	for _, st := range ctStates {
		if after[ct+st] > before[ct+st] {
			f.CTState = st
		}
	}
	f.CTReply = after[ct+"reply"] > before[ct+"reply"]
	out, partial := r.drain(r.out)
	for i, p := range out {
		if !isChatter(p) {
			f.Emitted = append(f.Emitted, p)
			if r.vnet {
				f.EmittedPartial = append(f.EmittedPartial, partial[i])
			}
		}
	}
	in, _ := r.drain(r.in)
	f.Replies = withoutChatter(in)
	return f, nil
}

var ctStates = []string{"new", "established", "related", "invalid", "untracked"}

// ctChains are the conntrack observation chains, with the prefix of
// their counters' keys.
var ctChains = map[string]string{"ctstate": "ct:", "ctstate_out": "ctout:"}

var (
	chainRE   = regexp.MustCompile(`(?s)chain (\w+) \{(.*?)\n\t\}`)
	counterRE = regexp.MustCompile(`\bcounter packets (\d+)`)
)

// counters reads every counting rule: one per observation chain, and
// ct:<state> and ct:reply for the conntrack chain (ctout:<state> and
// ctout:reply for its output twin).
func (r *Router) counters() (map[string]uint64, error) {
	out, err := r.Exec("nft list table inet nfgo_observe; nft list table inet nfgo_ct 2>/dev/null || true", nil)
	if err != nil {
		return nil, fmt.Errorf("nft list: %v: %s", err, out)
	}
	m := map[string]uint64{}
	for _, cm := range chainRE.FindAllSubmatch(out, -1) {
		name := string(cm[1])
		for i, c := range counterRE.FindAllSubmatch(cm[2], -1) {
			n, _ := strconv.ParseUint(string(c[1]), 10, 64)
			key := name
			if prefix, ok := ctChains[name]; ok {
				key = prefix + "reply"
				if i < len(ctStates) {
					key = prefix + ctStates[i]
				}
			}
			m[key] = n
		}
	}
	if len(m) < 4 {
		return nil, fmt.Errorf("nft list: want at least 4 counters, got %v in %s", m, out)
	}
	return m, nil
}

// Conntrack returns the kernel's connection table as conntrack -L
// prints it, one connection a line.
func (r *Router) Conntrack() ([]string, error) {
	out, err := r.Exec("conntrack -L 2>/dev/null", nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack -L: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// withoutChatter removes the kernel's own IPv6 multicast listener
// reports and neighbour discovery, which it sends on its own schedule.
func withoutChatter(pkts [][]byte) [][]byte {
	var out [][]byte
	for _, p := range pkts {
		if !isChatter(p) {
			out = append(out, p)
		}
	}
	return out
}

// isChatter says p is one of those.
func isChatter(p []byte) bool {
	switch {
	case len(p) >= 41 && p[0]>>4 == 6 && p[24] == 0xff:
		return true // to a multicast group: MLD reports, router solicitations
	case len(p) >= 48 && p[0]>>4 == 6 && p[6] == 58 && p[40] >= 133 && p[40] <= 137:
		return true // neighbour discovery
	case len(p) >= 48 && p[0]>>4 == 6 && p[6] == 0:
		return true // hop-by-hop: MLD with router alert
	}
	return false
}

// drain reads every packet waiting on a TUN device. With the devices'
// virtio_net_hdr, it strips the header, and partial says which packets'
// checksums it marked as still to be completed.
func (r *Router) drain(f *os.File) (pkts [][]byte, partial []bool) {
	buf := make([]byte, 65536)
	for {
		n, err := unix.Read(int(f.Fd()), buf)
		if n <= 0 || err != nil {
			return pkts, partial
		}
		p := buf[:n]
		if r.vnet {
			if n < vnetHdrLen {
				continue
			}
			partial = append(partial, p[0]&1 != 0) // VIRTIO_NET_HDR_F_NEEDS_CSUM
			p = p[vnetHdrLen:]
		}
		pkts = append(pkts, append([]byte(nil), p...))
	}
}

// openTUN attaches to a TUN device inside the router's namespace. The
// descriptor keeps working from any namespace once opened.
func (r *Router) openTUN(name string) (*os.File, error) {
	var f *os.File
	err := r.inNetns(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		var req [unix.IFNAMSIZ + 64]byte
		copy(req[:], name)
		flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if r.vnet {
			flags |= unix.IFF_VNET_HDR
		}
		*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = flags
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); errno != 0 {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", name, errno)
		}
		if r.vnet {
			// The device takes and gives partial checksums.
			if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOFFLOAD, unix.TUN_F_CSUM); errno != 0 {
				unix.Close(fd)
				return fmt.Errorf("TUNSETOFFLOAD %s: %w", name, errno)
			}
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}

// inNetns runs fn on an OS thread switched into the router's namespace.
func (r *Router) inNetns(fn func() error) error { return inNetns(r.Name, fn) }
