package ipset

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
)

// fidelityRestore covers each type this kernel has, each option and
// each element syntax; hash sets give their initval, so that the
// kernel's save prints the one nfgo prints.
const fidelityRestore = `
create a hash:ip family inet hashsize 1024 maxelem 65536 initval 0x11111111
add a 10.0.0.1
add a 10.0.1.0/30
add a 10.0.2.1-10.0.2.3
create b hash:net family inet6 timeout 300 counters comment skbinfo initval 0x22222222
add b 2001:db8::/32 timeout 100 packets 5 bytes 100 comment "hi there" skbmark 0x10/0xff skbprio 1:2 skbqueue 3
add b 2001:db8:1::1 nomatch
add b 2001:db8:2::/48 timeout 0 skbmark 0x5 skbprio 0:0 skbqueue 0
create c hash:ip,port initval 0x33333333
add c 10.0.0.1,tcp:80
add c 10.0.0.1,udp:53
add c 10.0.0.1,icmp:echo-request
add c 10.0.0.1,icmp:3/1
add c 10.0.0.1,icmp:40/7
add c 10.0.0.1,90-92
add c 10.0.0.2,sctp:9
add c 10.0.0.2,gre:0
add c 10.0.0.2,17:5
add c 10.0.0.2,tcp:http
add c 10.0.0.3,udplite:7
add c 10.0.0.3,esp:0
create d bitmap:ip range 192.168.0.0/24
add d 192.168.0.5
add d 192.168.0.7-192.168.0.9
create e bitmap:port range 1024-1 timeout 0
add e 80
add e tcp:22
add e 100-102 timeout 50
create f bitmap:ip,mac range 10.1.0.0-10.1.0.255 counters
add f 10.1.0.1,aa:bb:cc:dd:ee:ff
add f 10.1.0.2
create j hash:net,iface maxelem 1000 initval 0x44444444
add j 10.0.0.0/8,eth0
add j 10.0.0.0/8,physdev:eth1
add j 11.0.0.0/8,eth+
add j 12.0.0.0/16,lo nomatch
create l hash:ip,port,ip initval 0x55555555
add l 1.1.1.1,udp:53,2.2.2.2
add l 1.1.1.2-1.1.1.3,tcp:1-2,2.2.2.2
create n hash:ip netmask 24 forceadd maxelem 10 hashsize 100 initval 0x66666666
add n 1.2.3.4
add n 1.2.4.0/23
create o hash:net,port initval 0x77777777 bucketsize 5
add o 10.0.0.0-10.0.0.5,tcp:22
add o 10.1.0.0/16,udp:53
add o 10.2.0.7,icmp:port-unreachable
create p list:set size 4 timeout 60
add p a
add p c timeout 0
add p n before c
add p o after a
create q hash:ip,port,net initval 0x88888888
add q 1.2.3.4,tcp:80,10.0.0.0/24
add q 1.2.3.4,tcp:80,10.0.1.0-10.0.1.4 nomatch
create r hash:ip family inet6 hashsize 63 initval 0x99999999
add r fe80::1
add r ::1
add r ::ffff:1.2.3.4
create s hash:ip,port family inet6 initval 0x12345678
add s 2001:db8::1,icmpv6:echo-request
add s 2001:db8::1,icmpv6:1/4
add s 2001:db8::1,ipv6-icmp:200/3
add s 2001:db8::1,udp:53
create t bitmap:ip range 10.0.0.0/16 netmask 24
add t 10.0.5.7
add t 10.0.6.0-10.0.8.255
create u hash:ip family inet6 netmask 64 initval 0x0badcafe
add u 2001:db8:1:2:3:4:5:6
`

// TestSaveMatchesIpsetSave restores the same file into nfgo and into
// the kernel with ipset restore, and compares nfgo's save with ipset
// save's: every create line, and every set's elements (which the kernel
// prints in its hash order, nfgo in the order they came), with
// remaining timeouts allowed to differ by the seconds the two runs
// take.
func TestSaveMatchesIpsetSave(t *testing.T) {
	kernel.Require(t, "ipset")
	want, err := kernel.Shell("ipset restore && ipset save", []byte(fidelityRestore))
	if err != nil {
		t.Fatalf("ipset: %v", err)
	}
	ss, err := ParseSets(strings.NewReader(fidelityRestore))
	if err != nil {
		t.Fatalf("ParseSets: %v", err)
	}
	var got bytes.Buffer
	if err := ss.Save(&got); err != nil {
		t.Fatal(err)
	}
	compareSaves(t, got.String(), string(want))
}

var lineRe = regexp.MustCompile(`^Error in line (\d+): `)

var timeoutRe = regexp.MustCompile(` timeout (\d+)`)

// compareSaves compares two saves set by set.
func compareSaves(t *testing.T, got, want string) {
	t.Helper()
	g, w := splitSave(got), splitSave(want)
	if !slices.Equal(g.order, w.order) {
		t.Errorf("create lines:\ngot  %q\nwant %q", g.order, w.order)
	}
	for name, wl := range w.adds {
		gl := g.adds[name]
		if len(gl) != len(wl) {
			t.Errorf("set %s: %d elements, want %d:\ngot  %q\nwant %q", name, len(gl), len(wl), gl, wl)
			continue
		}
		for i := range wl {
			if !sameAddLine(gl[i], wl[i]) {
				t.Errorf("set %s element %d:\ngot  %s\nwant %s", name, i, gl[i], wl[i])
			}
		}
	}
	if got != want {
		// The whole texts differ only by element order and timeouts.
		t.Logf("nfgo:\n%s\nipset:\n%s", got, want)
	}
}

type saved struct {
	order []string
	adds  map[string][]string
}

// splitSave returns a save's create lines in order and each set's add
// lines, sorted (a list:set's are kept in order: it is ordered).
func splitSave(s string) saved {
	out := saved{adds: map[string][]string{}}
	lists := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "create":
			out.order = append(out.order, l)
			lists[f[1]] = f[2] == "list:set"
		case "add":
			out.adds[f[1]] = append(out.adds[f[1]], l)
		}
	}
	for name, l := range out.adds {
		if !lists[name] {
			slices.SortFunc(l, func(a, b string) int {
				return strings.Compare(timeoutRe.ReplaceAllString(a, ""), timeoutRe.ReplaceAllString(b, ""))
			})
		}
	}
	return out
}

// sameAddLine compares two add lines, their timeouts within 3 seconds.
func sameAddLine(a, b string) bool {
	if timeoutRe.ReplaceAllString(a, " timeout") != timeoutRe.ReplaceAllString(b, " timeout") {
		return false
	}
	ta, tb := timeoutRe.FindAllStringSubmatch(a, -1), timeoutRe.FindAllStringSubmatch(b, -1)
	for i := range ta {
		x, _ := strconv.Atoi(ta[i][1])
		y, _ := strconv.Atoi(tb[i][1])
		if x-y > 3 || y-x > 3 || (x == 0) != (y == 0) {
			return false
		}
	}
	return true
}

// badRestores are files ipset restore refuses; nfgo must refuse each at
// the same line with the same message.
var badRestores = []string{
	"create x hash:ip\nadd x 1.1.1.1\nadd x 1.1.1.1\n",
	"create x hash:ip\n# a comment\n\nadd x 10.0.0.0/24\nadd x 10.0.0.7\n",
	"create x hash:foo\n",
	"create x hash:ip bogus 1\n",
	"create x hash:ip maxelem x\n",
	"create x hash:ip timeout 5000000\n",
	"create x hash:ip\ncreate x hash:ip\n",
	"add nosuch 1.1.1.1\n",
	"create x hash:ip\nadd x 300.1.1.1\n",
	"create x hash:ip\nadd x 1.1.1.1 timeout 5\n",
	"create x hash:ip family inet6\nadd x ::1/120\n",
	"create x hash:ip family inet6\nadd x ::1-::3\n",
	"create x hash:ip family inet6\nadd x 1.2.3.4\n",
	"create x hash:net\nadd x 10.0.0.0/0\n",
	"create x hash:net\nadd x 10.0.0.1/33\n",
	"create x hash:ip,port\nadd x 1.1.1.1\n",
	"create x hash:ip,port\nadd x 1.1.1.1,tcp:70000\n",
	"create x hash:ip,port\nadd x 1.1.1.1,foo:1\n",
	"create x hash:ip,port\nadd x 1.1.1.1,tcp:1-2,3\n",
	"create x hash:ip,port\nadd x 1.1.1.1,0:0\n",
	"create x hash:ip,port\nadd x 1.1.1.1,icmp:0\n",
	"create x hash:ip,port\nadd x 1.1.1.1,tcp:80 nomatch\n",
	"create x hash:ip,port\nadd x 1.1.1.1,tcp:80 packets 5\n",
	"create x hash:ip,port\nadd x 1.1.1.1,tcp:80 comment x\n",
	"create x hash:ip comment\nadd x 1.1.1.1 comment \"a\"b\"\n",
	"create x hash:ip skbinfo\nadd x 1.1.1.1 skbmark 1\n",
	"create x hash:ip skbinfo\nadd x 1.1.1.1 skbmark 0/0xff\n",
	"create x bitmap:ip,mac range 10.0.0.0/24\nadd x 10.0.0.1,zz:bb:cc:dd:ee:ff\n",
	"create x bitmap:ip,mac range 10.0.0.0/24\nadd x 10.0.0.1,aa:bb:cc:dd:ee\n",
	"create x bitmap:ip,mac range 10.0.0.0/24\nadd x 10.0.1.1\n",
	"create x bitmap:port range 1000-2000\nadd x 999\n",
	"create x bitmap:ip range 10.0.0.0/15\n",
	"create x hash:net,iface\nadd x 1.0.0.0/8,abcdefghijklmnopq\n",
	"create x hash:net,iface\nadd x 1.0.0.0/8\n",
	"create l list:set\nadd l nosuch\n",
	"create m hash:ip\ncreate l list:set\nadd l m\nadd l m\n",
	"create m hash:ip\ncreate l list:set\nadd l m before nosuch\n",
	"create m hash:ip\ncreate l list:set\nadd l m timeout 5\n",
	"create m hash:ip maxelem 2\nadd m 1.1.1.1\nadd m 1.1.1.2\nadd m 1.1.1.3\n",
	"create m hash:ip\ndel m 1.1.1.1\n",
	"create m hash:ip\ncreate n hash:net\nswap m n\n",
	"create m hash:ip\ncreate l list:set\nadd l m\ndestroy m\n",
}

// TestRestoreErrorsMatchIpset feeds each bad file to ipset restore and
// to nfgo, and compares the line and message.
func TestRestoreErrorsMatchIpset(t *testing.T) {
	kernel.Require(t, "ipset")
	version := ipsetVersion(t)
	for _, file := range badRestores {
		_, kerr := kernel.Shell("ipset restore", []byte(file))
		if kerr == nil {
			t.Errorf("ipset restore took %q", file)
			continue
		}
		want := kerr.Error()
		_, want, _ = strings.Cut(want, version+": ")
		want, _, _ = strings.Cut(want, "\n")
		_, err := ParseSets(strings.NewReader(file))
		var re *RestoreError
		if !errors.As(err, &re) {
			t.Errorf("%q: got %v, want %s", file, err, want)
			continue
		}
		// ipset names the line for most errors, not for those its
		// argument parser reports; nfgo always names it.
		wantReason := want
		if m := lineRe.FindStringSubmatch(want); m != nil {
			if line, _ := strconv.Atoi(m[1]); line != re.Line {
				t.Errorf("%q: error in line %d, want line %d", file, re.Line, line)
			}
			wantReason = want[len(m[0]):]
		}
		if got := re.Err.Error(); got != wantReason {
			t.Errorf("%q:\ngot  %s\nwant %s", file, got, wantReason)
		}
	}
}

func ipsetVersion(t *testing.T) string {
	out, err := exec.Command("ipset", "version").CombinedOutput()
	if err != nil {
		t.Fatalf("ipset version: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("ipset version printed %q", out)
	}
	return "ipset " + strings.TrimSuffix(f[1], ",")
}

var initvalRe = regexp.MustCompile(` initval 0x[0-9a-f]+`)

// TestRestoreFilesOfOtherToolsLoad restores what fail2ban, Calico,
// firewalld and kube-proxy feed ipset (testdata/restore) into nfgo and
// into the kernel, and compares the saves; a set whose seed the file
// does not give gets a random one in each, so seeds are not compared.
func TestRestoreFilesOfOtherToolsLoad(t *testing.T) {
	kernel.Require(t, "ipset")
	files, err := filepath.Glob("testdata/restore/*.restore")
	if err != nil || len(files) < 4 {
		t.Fatalf("restore files: %v, %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := kernel.Shell("ipset restore && ipset save", data)
			if err != nil {
				t.Fatalf("ipset: %v", err)
			}
			ss, err := ParseSets(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("nfgo: %v", err)
			}
			var got bytes.Buffer
			if err := ss.Save(&got); err != nil {
				t.Fatal(err)
			}
			compareSaves(t, initvalRe.ReplaceAllString(got.String(), " initval"), initvalRe.ReplaceAllString(string(want), " initval"))
		})
	}
}
