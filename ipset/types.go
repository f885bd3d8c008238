package ipset

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nfgo/nfgo/packet"
)

// dim is what one dimension of a set's element holds.
type dim uint8

const (
	dimIP    dim = iota + 1 // an address (hash:ip, bitmap:ip, the ip of ip,port)
	dimNet                  // an address with a prefix length
	dimPort                 // a protocol and a port (or ICMP type and code)
	dimMAC                  // an Ethernet address
	dimMark                 // a packet mark
	dimIface                // an interface name
	dimSet                  // a member set's name (list:set)
)

// storage is how a type keeps its elements.
type storage uint8

const (
	hashStorage storage = iota
	bitmapStorage
	listStorage
)

// setType is one ipset type (struct ip_set_type): its name, how it
// stores elements, its dimensions, the families it takes and whether its
// elements may be nomatch.
type setType struct {
	name     string
	storage  storage
	dims     []dim
	v4Only   bool // bitmap:ip and bitmap:ip,mac
	nomatch  bool // IPSET_TYPE_NOMATCH
	revision int  // the newest revision, as ipset list shows it
}

// types are ipset's types, by name.
var types = map[string]*setType{}

func init() {
	for _, t := range []*setType{
		{name: "bitmap:ip", storage: bitmapStorage, dims: []dim{dimIP}, v4Only: true, revision: 3},
		{name: "bitmap:ip,mac", storage: bitmapStorage, dims: []dim{dimIP, dimMAC}, v4Only: true, revision: 3},
		{name: "bitmap:port", storage: bitmapStorage, dims: []dim{dimPort}, revision: 3},
		{name: "hash:ip", dims: []dim{dimIP}, revision: 6},
		{name: "hash:mac", dims: []dim{dimMAC}, revision: 1},
		{name: "hash:ip,mac", dims: []dim{dimIP, dimMAC}, revision: 1},
		{name: "hash:ip,mark", dims: []dim{dimIP, dimMark}, revision: 3},
		{name: "hash:ip,port", dims: []dim{dimIP, dimPort}, revision: 7},
		{name: "hash:ip,port,ip", dims: []dim{dimIP, dimPort, dimIP}, revision: 6},
		{name: "hash:ip,port,net", dims: []dim{dimIP, dimPort, dimNet}, nomatch: true, revision: 8},
		{name: "hash:net", dims: []dim{dimNet}, nomatch: true, revision: 7},
		{name: "hash:net,net", dims: []dim{dimNet, dimNet}, nomatch: true, revision: 3},
		{name: "hash:net,port", dims: []dim{dimNet, dimPort}, nomatch: true, revision: 8},
		{name: "hash:net,port,net", dims: []dim{dimNet, dimPort, dimNet}, nomatch: true, revision: 3},
		{name: "hash:net,iface", dims: []dim{dimNet, dimIface}, nomatch: true, revision: 7},
		{name: "list:set", storage: listStorage, dims: []dim{dimSet}, revision: 3},
	} {
		types[t.name] = t
	}
}

// typeNamed returns the type called name (ipset also takes its aliases
// of the old names, "iphash" for hash:ip and so on, which nfgo does not).
func typeNamed(name string) (*setType, error) {
	if t, ok := types[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownType, name)
}

// TypeNames returns the names of the types, sorted.
func TypeNames() []string {
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// nets counts the dimensions that are networks: 0, 1 or 2.
func (t *setType) nets() int {
	n := 0
	for _, d := range t.dims {
		if d == dimNet {
			n++
		}
	}
	return n
}

// has reports whether the type has a dimension d.
func (t *setType) has(d dim) bool {
	for _, x := range t.dims {
		if x == d {
			return true
		}
	}
	return false
}

// addressed reports whether the type holds addresses, so that it has a
// family.
func (t *setType) addressed() bool { return t.has(dimIP) || t.has(dimNet) }

func (t *setType) String() string { return t.name }

// familyName is how ipset names a family.
func familyName(f packet.Family) string {
	if f == packet.IPv6 {
		return "inet6"
	}
	return "inet"
}

func parseFamily(s string) (packet.Family, bool) {
	switch strings.ToLower(s) {
	case "inet", "ipv4", "-4":
		return packet.IPv4, true
	case "inet6", "ipv6", "-6":
		return packet.IPv6, true
	}
	return 0, false
}
