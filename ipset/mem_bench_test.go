package ipset

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
)

var sizeRe = regexp.MustCompile(`Size in memory: (\d+)`)

// BenchmarkHashNetMemory reports the bytes per element of a 100,000-
// element hash:net set in nfgo (heap growth) and, as root with ipset
// installed, in the kernel (ipset list's "Size in memory" for the same
// restore file). Run it with -benchtime 1x: it measures, it does not
// time.
func BenchmarkHashNetMemory(b *testing.B) {
	const n = 100_000
	var text strings.Builder
	text.WriteString("create m hash:net family inet maxelem 200000\n")
	for i := range n {
		fmt.Fprintf(&text, "add m %d.%d.%d.0/24\n", 10+i>>16, i>>8&0xff, i&0xff)
	}
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ss, err := ParseSets(strings.NewReader(text.String()))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "nfgo-B/elem")
		runtime.KeepAlive(ss)
	}
	if _, err := exec.LookPath("ipset"); err != nil || os.Geteuid() != 0 {
		b.Log("kernel figure skipped: needs root and ipset")
		return
	}
	out, err := kernel.Shell("ipset restore && ipset list -t m", []byte(text.String()))
	if err != nil {
		b.Fatal(err)
	}
	m := sizeRe.FindStringSubmatch(string(out))
	if m == nil {
		b.Fatalf("ipset list printed no size:\n%s", out)
	}
	size, _ := strconv.Atoi(m[1])
	b.ReportMetric(float64(size)/n, "kernel-B/elem")
}
