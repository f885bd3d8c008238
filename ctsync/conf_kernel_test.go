package ctsync

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/kernel"
)

// conntrackdNS runs "conntrackd -C $1" the way the research harness
// (run1.sh) does: in new network and mount namespaces that die with it,
// with private tmpfs on /run and /var/log (the lock file, the UNIX
// socket and any LogFile land there), and the veth pair eth2/eth3 the
// corpus binds to. timeout stops a daemon that started; -k kills one
// that ignores SIGTERM. Nothing outlives the script.
const conntrackdNS = `
mount -t tmpfs tmpfs /run && mkdir -p /run/lock
mount -t tmpfs tmpfs /var/log
ip link set lo up
ip link add eth2 type veth peer name eth3
ip link set eth2 up; ip link set eth3 up
ip addr add 192.168.100.100/24 dev eth2
ip addr add 192.168.100.101/24 dev eth3
ip -6 addr add fd00::1/64 dev eth2 nodad
timeout -k 1 0.7 conntrackd -C "$1"
echo "exit=$?" >&2
`

// conntrackdPrefix is log.c's "[ctime] (pid=N) [LEVEL] ".
var conntrackdPrefix = regexp.MustCompile(`^\[[^]]*\] \(pid=[0-9]+\) \[([a-zA-Z]+)\] `)

// hostWarning matches conntrackd's warnings about the host rather than
// the file, which ReadConfig does not check.
var hostWarning = regexp.MustCompile(`is an invalid interface$|^scheduler configuration failed|^NetlinkBufferSize is either`)

// conntrackdVerdict runs the real conntrackd on file and returns what it
// said about the file: the text of its first ERROR line, and whether it
// got past parsing (it started, or failed only while starting).
func conntrackdVerdict(t *testing.T, file string) (errText string, parsed bool, warnings []string, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "-m", "sh", "-c", conntrackdNS, "sh", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running conntrackd: %v\n%s", err, stderr.Bytes())
	}
	out = stderr.String()
	startFailed := false
	for line := range strings.SplitSeq(out, "\n") {
		m := conntrackdPrefix.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		msg := line[m[1]:]
		if line[m[2]:m[3]] == "warning" {
			warnings = append(warnings, msg)
		}
		if line[m[2]:m[3]] != "ERROR" {
			continue
		}
		if strings.Contains(msg, "cannot start, please review") {
			startFailed = true
		}
		if errText == "" {
			errText = msg
		}
	}
	switch {
	case strings.Contains(out, "exit=124"), strings.Contains(out, "exit=134"), startFailed:
		// 124: it ran until stopped; 134: it aborted after parsing
		// (the ExpectationSync on/off assertion); a start-up failure
		// comes after parsing too.
		return "", true, warnings, out
	case strings.Contains(out, "exit=1\n"):
		return errText, false, warnings, out
	}
	t.Fatalf("conntrackd ended unexpectedly:\n%s", out)
	return "", false, nil, out
}

// TestReadConfigMatchesConntrackd runs each corpus file through
// conntrackd 1.4.7 and ReadConfig. Where conntrackd rejects the file
// while parsing, ReadConfig must reject it with the same text (for a
// syntax error, the same line and symbol). Where conntrackd gets past
// parsing, ReadConfig must accept it or refuse it only for a reason of
// nfgo's own.
func TestReadConfigMatchesConntrackd(t *testing.T) {
	kernel.Require(t, "ip", "timeout", "conntrackd")
	files, err := filepath.Glob("testdata/conf/corpus/*.conf")
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	files = append(files, "testdata/conf/ftfw.conf", "testdata/conf/notrack.conf")
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".conf"), func(t *testing.T) {
			t.Parallel()
			abs, err := filepath.Abs(file)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			want, parsed, warnings, out := conntrackdVerdict(t, abs)
			_, notes, got := ReadConfig(data)
			var ce *ConfigError
			if got != nil && !errors.As(got, &ce) {
				t.Fatalf("ReadConfig returned %T %v, want a *ConfigError", got, got)
			}
			switch {
			case parsed && got != nil && !ce.Nfgo:
				t.Errorf("conntrackd parsed it, ReadConfig says %q\nconntrackd:\n%s", got, out)
			case !parsed && got == nil:
				t.Errorf("ReadConfig accepted it, conntrackd says %q", want)
			case !parsed && (ce.Nfgo || ce.Msg != want):
				t.Errorf("ReadConfig says %q, conntrackd says %q", got, want)
			}
			// Each warning conntrackd prints about the file is a note,
			// but for those about the host: whether an interface
			// exists, and start-up failures.
			texts := make(map[string]bool)
			for _, n := range notes {
				texts[n.Text] = true
			}
			for _, w := range warnings {
				if !texts[w] && !hostWarning.MatchString(w) {
					t.Errorf("conntrackd warns %q; ReadConfig's notes: %v", w, notes)
				}
			}
		})
	}
}
