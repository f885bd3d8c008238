package daemon

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// kernelQueue is a line of /proc/net/netfilter/nfnetlink_queue.
type kernelQueue struct {
	num, total, queueDropped, userDropped uint64
}

// readKernelQueues reads the kernel's per-queue counters: queue number,
// peer port id, queue total, copy mode, copy range, queue_dropped,
// user_dropped, last id, and 1.
func readKernelQueues() ([]kernelQueue, error) {
	f, err := os.Open("/proc/net/netfilter/nfnetlink_queue")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []kernelQueue
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var k kernelQueue
		var portid, mode, rng, last, one uint64
		if _, err := fmt.Sscan(strings.TrimSpace(sc.Text()), &k.num, &portid, &k.total, &mode, &rng, &k.queueDropped, &k.userDropped, &last, &one); err != nil {
			continue
		}
		out = append(out, k)
	}
	return out, sc.Err()
}
