package filter

import (
	"sync"
	"testing"
)

// Counters stay exact whatever the stripes: one stripe alone counts in
// place; a second spreads every later count over stripes; Load sums all
// of it and Set starts again from the value set.
func TestCountersStripe(t *testing.T) {
	var c Counters
	c.AddStripe(100, 3)
	c.AddStripe(50, 3)
	if c.stripes.Load() != nil {
		t.Fatal("one stripe alone allocated stripes")
	}
	if p, b := c.Load(); p != 2 || b != 150 {
		t.Fatalf("Load() = %d, %d; want 2, 150", p, b)
	}
	c.AddStripe(10, 5)
	c.AddStripe(10, 3+CounterStripes) // the same stripe as 3
	if c.stripes.Load() == nil {
		t.Fatal("a second stripe did not spread the counter")
	}
	if p, b := c.Load(); p != 4 || b != 170 {
		t.Fatalf("Load() = %d, %d; want 4, 170", p, b)
	}
	c.Set(7, 700)
	if p, b := c.Load(); p != 7 || b != 700 {
		t.Fatalf("after Set, Load() = %d, %d; want 7, 700", p, b)
	}
}

// Goroutines counting into one counter, each in its own stripe, lose no
// count (run with -race).
func TestCountersConcurrentStripes(t *testing.T) {
	var c Counters
	const goroutines, each = 8, 5000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c.AddStripe(3, uint32(g))
			}
		}()
	}
	for range 100 {
		c.Load() // reads while the counts go on
	}
	wg.Wait()
	if p, b := c.Load(); p != goroutines*each || b != 3*goroutines*each {
		t.Errorf("Load() = %d, %d; want %d, %d", p, b, goroutines*each, 3*goroutines*each)
	}
}
