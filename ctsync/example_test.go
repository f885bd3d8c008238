package ctsync_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/ctsync"
)

// ReadConfig reads a conntrackd.conf: the sync link, and notes for what
// nfgo ignores.
func ExampleReadConfig() {
	cfg, notes, err := ctsync.ReadConfig([]byte(`Sync {
	Mode FTFW {
		ResendQueueSize 65536
	}
	UDP {
		IPv4_address 10.99.0.1
		IPv4_Destination_Address 10.99.0.2
		Port 3780
		Interface sync0
	}
}
General {
	LockFile /var/lock/conntrack.lock
	UNIX {
		Path /var/run/conntrackd.ctl
	}
}
`))
	if err != nil {
		log.Fatal(err)
	}
	t := cfg.Transport
	fmt.Println(cfg.Mode, cfg.ResendQueueSize, t.Kind, t.Local, "->", t.Peer, t.Port, "on", t.Interface)
	for _, n := range notes {
		fmt.Printf("line %d: %s\n", n.Line, n.Text)
	}
	// Output:
	// FTFW 65536 UDP 10.99.0.1 -> 10.99.0.2 3780 on sync0
	// line 13: `LockFile' means nothing to nfgo (nfgo run takes no lock file), ignoring
	// line 14: `UNIX' means nothing to nfgo (nfgo run's control socket is --control, which nfgo sync talks to), ignoring
}

// A Node syncs a table with its peer as conntrackd does; Commit, when
// this node takes over, puts the peer's connections into the table.
func ExampleNewNode() {
	cfg, _, err := ctsync.ReadConfig([]byte("Sync {\n\tMode FTFW {\n\t}\n\tUDP {\n\t\tIPv4_address 10.99.0.1\n\t\tIPv4_Destination_Address 10.99.0.2\n\t\tInterface sync0\n\t}\n}\nGeneral {\n\tLockFile /run/l\n\tUNIX {\n\t\tPath /run/c\n\t}\n}\n"))
	if err != nil {
		log.Fatal(err)
	}
	table := conntrack.NewTable(conntrack.Config{})
	node, err := ctsync.NewNode(ctsync.NodeConfig{Sync: cfg, Table: table})
	if err != nil {
		log.Fatal(err)
	}
	go node.Run(context.Background())
	// ... on failover:
	n, err := node.Commit()
	fmt.Println(n, err)
}
