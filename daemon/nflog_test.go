package daemon

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// TestNFLogFilesArePcapngPerGroup: each group gets its own pcapng file,
// with the packets in order and the prefix as each one's comment, as a
// log collector reads it.
func TestNFLogFilesArePcapngPerGroup(t *testing.T) {
	dir := t.TempDir()
	n := &nflogFiles{dir: dir}
	at := time.Unix(1700000000, 0)
	pkts := [][]byte{{0x45, 0, 0, 20, 1}, {0x45, 0, 0, 20, 2}, {0x60, 0, 0, 0, 3}}
	groups := []uint16{5, 5, 9}
	for i, p := range pkts {
		if err := n.write(groups[i], "drop: ", p, at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	n.close()
	for group, want := range map[uint16][][]byte{5: pkts[:2], 9: pkts[2:]} {
		data, err := os.ReadFile(NFLogFile(dir, group))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			got, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatalf("group %d packet %d: %v", group, i, err)
			}
			if !bytes.Equal(got, w) || ci.Length != len(w) {
				t.Errorf("group %d packet %d: %x, want %x", group, i, got, w)
			}
		}
		if _, _, err := r.ReadPacketData(); err == nil {
			t.Errorf("group %d has more packets than were logged", group)
		}
	}
}
