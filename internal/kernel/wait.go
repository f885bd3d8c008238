package kernel

import (
	"testing"
	"time"
)

// WaitFor polls cond every 100 ms for up to 10 s and fails the test,
// naming what it waited for, if cond never held: the bound every wait on
// a daemon, a peer or the kernel's table takes in the namespace tests.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
