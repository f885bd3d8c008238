// Package kernel runs the real Linux netfilter as a test oracle: it
// executes iptables tools and packet experiments inside throwaway network
// namespaces, so tests can compare nfgo with the kernel.
package kernel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require skips the test unless it can use the kernel as an oracle: it
// must run as root and the named tools must be installed. The skip
// message says which condition failed.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping kernel comparison: needs root to create network namespaces (CI runs it as root)")
	}
	for _, tool := range append([]string{"unshare"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping kernel comparison: %s is not installed (.ci/run installs it)", tool)
		}
	}
}

// Shell runs a shell script in a new, empty network namespace that dies
// with the script, so nothing it does outlives it. stdin is fed to the
// script. It returns stdout, or an error carrying stderr.
func Shell(script string, stdin []byte) ([]byte, error) {
	cmd := exec.Command("unshare", "--net", "sh", "-e", "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}

// Save restores rules with iptables-restore (ip6tables-restore when v6)
// in a fresh namespace and returns what iptables-save prints.
func Save(rules []byte, v6 bool) ([]byte, error) {
	pre := "ip"
	if v6 {
		pre = "ip6"
	}
	return Shell(pre+"tables-restore && "+pre+"tables-save", rules)
}

// SaveWithSets is Save with the ipsets of an ipset save file restored
// first, for rules that name them.
func SaveWithSets(rules []byte, v6 bool, sets []byte) ([]byte, error) {
	return SaveWith(rules, v6, sets, nil)
}

// SaveWith is Save with the ipsets of an ipset save file restored and the
// nfacct objects named created first, for rules that name them.
func SaveWith(rules []byte, v6 bool, sets []byte, nfacct []string) ([]byte, error) {
	pre := "ip"
	if v6 {
		pre = "ip6"
	}
	var prelude strings.Builder
	if len(sets) > 0 {
		prelude.WriteString("ipset restore <<'NFGO_SETS_EOF'\n" + string(sets) + "NFGO_SETS_EOF\n")
	}
	for _, name := range nfacct {
		prelude.WriteString("nfacct add '" + name + "' >/dev/null &&\n")
	}
	return Shell(prelude.String()+pre+"tables-restore && "+pre+"tables-save", rules)
}

// ShellWithEtc is Shell in a private mount namespace too, where /etc is
// an overlay holding files (by absolute path under /etc) over the
// host's: the tools read a configuration file (connlabel.conf, say)
// that the host never sees.
func ShellWithEtc(files map[string][]byte, script string, stdin []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "nfgo-etc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var setup strings.Builder
	setup.WriteString("mount --make-rprivate / && mount -t overlay overlay -o lowerdir=/etc,upperdir=" + dir + "/u,workdir=" + dir + "/w /etc\n")
	for _, d := range []string{"u", "w"} {
		if err := os.Mkdir(dir+"/"+d, 0o755); err != nil {
			return nil, err
		}
	}
	for path, data := range files {
		if !strings.HasPrefix(path, "/etc/") || strings.Contains(path, "..") || strings.ContainsAny(path, "'\n") {
			return nil, fmt.Errorf("ShellWithEtc: %q is not a plain path under /etc", path)
		}
		src := dir + "/file" + fmt.Sprint(setup.Len())
		if err := os.WriteFile(src, data, 0o644); err != nil {
			return nil, err
		}
		setup.WriteString("mkdir -p \"$(dirname '" + path + "')\" && cp " + src + " '" + path + "'\n")
	}
	cmd := exec.Command("unshare", "--net", "--mount", "sh", "-e", "-c", setup.String()+script)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}
