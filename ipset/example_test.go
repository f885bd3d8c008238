package ipset_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/nfgo/nfgo/ipset"
)

// Sets are read from an ipset save file, changed with ipset's own
// commands, asked as ipset test asks, and saved as ipset save prints
// them.
func ExampleParseSets() {
	sets, err := ipset.ParseSets(strings.NewReader(`create blocked hash:net family inet hashsize 1024 maxelem 65536 initval 0x1234abcd
add blocked 192.0.2.0/24
add blocked 192.0.2.128/25 nomatch
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sets.Exec("add blocked 198.51.100.7", false); err != nil {
		fmt.Println(err)
	}
	for _, addr := range []string{"192.0.2.9", "192.0.2.200", "198.51.100.7", "203.0.113.1"} {
		in, _ := sets.Test("blocked", addr)
		fmt.Println(addr, in)
	}
	sets.Save(os.Stdout)
	// Output:
	// 192.0.2.9 true
	// 192.0.2.200 false
	// 198.51.100.7 true
	// 203.0.113.1 false
	// create blocked hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1234abcd
	// add blocked 192.0.2.0/24
	// add blocked 192.0.2.128/25 nomatch
	// add blocked 198.51.100.7
}

// A bad file is refused at its line, with ipset's reason.
func ExampleRestoreError() {
	_, err := ipset.ParseSets(strings.NewReader("create a hash:ip\nadd a 10.0.0.300\n"))
	fmt.Println(err)
	// Output:
	// Error in line 2: Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed
}
