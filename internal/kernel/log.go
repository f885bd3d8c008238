package kernel

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// KernelLog reads the lines the kernel's LOG target prints, so tests can
// compare nfgo's LOG lines with the kernel's. The kernel prints LOG lines
// from namespaces other than the initial one only with the host-wide
// sysctl net.netfilter.nf_log_all_netns set; KernelLog sets it for the
// test and restores it afterwards.
type KernelLog struct {
	f *os.File
}

// OpenKernelLog starts reading new kernel log records. It skips the test
// if the log cannot be read.
func OpenKernelLog(t testing.TB) *KernelLog {
	t.Helper()
	const sysctl = "/proc/sys/net/netfilter/nf_log_all_netns"
	old, err := os.ReadFile(sysctl)
	if err != nil {
		t.Skipf("skipping LOG comparison: %v", err)
	}
	if err := os.WriteFile(sysctl, []byte("1"), 0); err != nil {
		t.Skipf("skipping LOG comparison: cannot set nf_log_all_netns: %v", err)
	}
	t.Cleanup(func() { os.WriteFile(sysctl, bytes.TrimSpace(old), 0) })
	// Make sure the LOG backend is bound for both families.
	exec.Command("sh", "-c", "cat /proc/net/netfilter/nf_log >/dev/null").Run()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping LOG comparison: /dev/kmsg: %v", err)
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		unix.Close(fd)
		t.Skipf("skipping LOG comparison: seek /dev/kmsg: %v", err)
	}
	l := &KernelLog{f: os.NewFile(uintptr(fd), "/dev/kmsg")}
	t.Cleanup(func() { l.f.Close() })
	return l
}

// Lines returns the messages logged since the last call that contain
// marker (a LOG prefix), without the record header.
func (l *KernelLog) Lines(marker string) []string {
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(int(l.f.Fd()), buf)
		if err == unix.EPIPE {
			continue // records were overwritten; go on with the next
		}
		if n <= 0 || err != nil {
			return out
		}
		rec := string(buf[:n])
		_, msg, ok := strings.Cut(rec, ";")
		if !ok {
			continue
		}
		msg, _, _ = strings.Cut(msg, "\n") // continuation lines follow
		if strings.Contains(msg, marker) {
			out = append(out, msg)
		}
	}
}
