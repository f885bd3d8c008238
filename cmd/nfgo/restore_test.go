package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/daemon"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/packet"
)

// nfgo iptables-restore sends its standard input to the daemon, and
// nfgo iptables-save prints what the daemon then runs; a bad file fails
// with iptables-restore's line.
func TestIptablesRestoreThroughControlSocket(t *testing.T) {
	const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n-A FORWARD -j web\n-A web -j ACCEPT\nCOMMIT\n"
	s, err := daemon.New(daemon.Config{LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) {
		rs, err := iptables.Parse(strings.NewReader(rules), packet.IPv4)
		return rs, nil, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "control")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeControl(ctx, path) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; ; i++ {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the control socket never came up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	update := "*filter\n:web - [0:0]\n-A web -s 198.18.0.0/15 -j DROP\nCOMMIT\n"
	if err := controlCmd("iptables-restore", []string{"--noflush", "--control", path}, strings.NewReader(update), &out, &errb); err != nil || !strings.Contains(out.String(), "rules restored") {
		t.Fatalf("iptables-restore: %v: %s%s", err, out.String(), errb.String())
	}
	out.Reset()
	if err := controlCmd("iptables-save", []string{"--control", path}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), ":web - [0:0]\n-A FORWARD -j web\n-A web -s 198.18.0.0/15 -j DROP\nCOMMIT\n"; !strings.HasSuffix(got, want) {
		t.Errorf("iptables-save after the update:\n%s\nwant it to end with:\n%s", got, want)
	}
	out.Reset()
	err = controlCmd("iptables-restore", []string{"-n", "--control", path}, strings.NewReader("*filter\n-A web -j NOWHERE\nCOMMIT\n"), &out, &errb)
	if !errors.Is(err, errFailed) || !strings.Contains(out.String(), "line 2") {
		t.Errorf("a bad update: %v, %q; want a failure naming line 2", err, out.String())
	}
}
