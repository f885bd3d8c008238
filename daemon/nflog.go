package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// nflogFiles writes NFLOG's packets, one pcapng file per group in dir
// (nflog-GROUP.pcapng), each packet's prefix as its comment. mu guards
// the files; it is taken only for packets an NFLOG rule logs.
type nflogFiles struct {
	dir   string
	mu    sync.Mutex
	files map[uint16]*nflogFile
}

type nflogFile struct {
	f *os.File
	w *pcapgo.NgWriter
}

// NFLogFile is the file group's packets are written to in dir.
func NFLogFile(dir string, group uint16) string {
	return filepath.Join(dir, fmt.Sprintf("nflog-%d.pcapng", group))
}

// write appends one packet to its group's file, creating it (or
// appending to one a previous run left) on the first packet.
func (n *nflogFiles) write(group uint16, prefix string, pkt []byte, at time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	nf := n.files[group]
	if nf == nil {
		f, err := os.Create(NFLogFile(n.dir, group))
		if err != nil {
			return err
		}
		w, err := pcapgo.NewNgWriter(f, layers.LinkTypeRaw)
		if err != nil {
			f.Close()
			return err
		}
		nf = &nflogFile{f: f, w: w}
		if n.files == nil {
			n.files = map[uint16]*nflogFile{}
		}
		n.files[group] = nf
	}
	ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(pkt), Length: len(pkt)}
	var opts pcapgo.NgPacketOptions
	if prefix != "" {
		opts.Comments = []string{prefix}
	}
	if err := nf.w.WritePacketWithOptions(ci, pkt, opts); err != nil {
		return err
	}
	return nf.w.Flush()
}

// close closes every file.
func (n *nflogFiles) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for g, nf := range n.files {
		nf.w.Flush()
		nf.f.Close()
		delete(n.files, g)
	}
}
