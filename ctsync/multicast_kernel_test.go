package ctsync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/kernel"
)

// multicastConf is a conntrackd.conf whose link is FTFW over the
// multicast group 225.0.0.50, port 3780, on sync0 from local.
func (p *syncPair) multicastConf(t *testing.T, name, local string) string {
	t.Helper()
	return p.writeConf(t, name, "FTFW {\n\t}", fmt.Sprintf(`Multicast {
		IPv4_address 225.0.0.50
		Group %d
		IPv4_interface %s
		Interface sync0
		Checksum on
	}`, syncPort, local))
}

// TestMulticastWithConntrackd runs a Node read from a multicast
// conntrackd.conf against a stock conntrackd on the same group: the
// connections conntrackd's kernel has reach nfgo's external cache, and
// nfgo's reach conntrackd's.
func TestMulticastWithConntrackd(t *testing.T) {
	p := newSyncPair(t)
	p.startConntrackd(t, p.a, p.multicastConf(t, "a", syncAddrA))
	data, err := os.ReadFile(p.multicastConf(t, "b", syncAddrB))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := ReadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	table := conntrack.NewTable(conntrack.Config{})
	var node *Node
	if err := p.b.Do(func() (err error) {
		node, err = NewNode(NodeConfig{Sync: cfg, Table: table})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	// conntrackd to nfgo.
	p.a.MustExec(t, "conntrack -I "+kernelConns[0].args+" 2>&1")
	kernel.WaitFor(t, "conntrackd's connection", func() bool {
		for c := range node.External() {
			if strings.Contains(c.Orig.String(), kernelConns[0].orig) {
				return true
			}
		}
		return false
	})
	// nfgo to conntrackd: a connection of nfgo's table.
	conns := sentConns(t)
	for i := range conns {
		if err := table.Adopt(conns[i], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Adopted connections are not sent; a bulk send is.
	node.SendBulk()
	kernel.WaitFor(t, "nfgo's connections in conntrackd's external cache", func() bool {
		out, _ := p.a.Exec("conntrackd -C "+filepath.Join(p.dir, "a.conf")+" -e", nil)
		for _, c := range conns {
			if !strings.Contains(string(out), c.Orig.String()+" ") {
				return false
			}
		}
		return true
	})
	if st := node.Stats(); st.Foreign != 0 || st.Malformed != 0 {
		t.Errorf("node counted %+v", st)
	}
}
