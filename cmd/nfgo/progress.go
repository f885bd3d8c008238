package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress draws a progress bar on stderr while a large capture is
// replayed, only when stderr is a terminal.
type progress struct {
	w     io.Writer
	total int64
	read  int64
	n     int
	last  time.Time
	on    bool
}

// progressThreshold is the capture size above which a bar is drawn.
const progressThreshold = 4 << 20

func newProgress(w io.Writer, total int64) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && total > progressThreshold {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) wrap(r io.Reader) io.Reader {
	if !p.on {
		return r
	}
	return readerFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		p.read += int64(n)
		return n, err
	})
}

func (p *progress) tick() {
	p.n++
	if !p.on || p.n%1024 != 0 || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 40
	done := int(int64(width) * p.read / p.total)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < done {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %3d%% %d packets", bar, 100*p.read/p.total, p.n)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }
