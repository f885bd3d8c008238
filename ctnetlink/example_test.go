package ctnetlink_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/ctnetlink"
)

// Adopting the kernel's connections at a switch-over, and handing nfgo's
// back.
func Example() {
	table := conntrack.NewTable(conntrack.Config{})
	a, err := ctnetlink.NewAdopter(table, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("adopted", a.Stats().Adopted)
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx) // until nfgo carries them
	// ... later, to give the path back to the kernel:
	cancel()
	n, err := ctnetlink.Export(table, time.Now())
	fmt.Println("exported", n, err)
}
