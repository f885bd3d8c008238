package conntrack

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// The JSON form of a connection, for APIs and log pipelines that would
// otherwise parse conntrack -L lines. Its fields follow what the Go
// netlink libraries expose (ti-mo/conntrack's Flow, vishvananda/netlink's
// ConntrackFlow), with conntrack's words for the values:
//
//	{"family":"ipv4","proto":"tcp","proto_num":6,"state":"ESTABLISHED","timeout":431999,
//	 "status":["SEEN_REPLY","ASSURED","CONFIRMED"],
//	 "orig":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80},
//	 "reply":{"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000},
//	 "mark":0,"zone":0,
//	 "counters":{"orig":{"packets":3,"bytes":180},"reply":{"packets":2,"bytes":120}}}
//
// state is only present for TCP and SCTP; an ICMP tuple has type, code and id
// instead of ports, a GRE one srckey and dstkey; labels, when any is set,
// is the 128-bit label set in hex, bit n of the set being label n
// (conntrack's --label numbering).

type jsonConn struct {
	Family   string        `json:"family"`
	Proto    string        `json:"proto"`
	ProtoNum uint8         `json:"proto_num"`
	State    string        `json:"state,omitempty"`
	Timeout  int64         `json:"timeout"`
	Status   []string      `json:"status"`
	Orig     jsonTuple     `json:"orig"`
	Reply    jsonTuple     `json:"reply"`
	Mark     uint32        `json:"mark"`
	Zone     uint16        `json:"zone"`
	Count    *jsonCounters `json:"counters"`
	Labels   string        `json:"labels,omitempty"`
	Helper   string        `json:"helper,omitempty"`
}

type jsonCounter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type jsonCounters struct {
	Orig  jsonCounter `json:"orig"`
	Reply jsonCounter `json:"reply"`
}

type jsonTuple struct {
	Src    string  `json:"src"`
	Dst    string  `json:"dst"`
	SPort  *uint16 `json:"sport,omitempty"`
	DPort  *uint16 `json:"dport,omitempty"`
	Type   *uint8  `json:"type,omitempty"`
	Code   *uint8  `json:"code,omitempty"`
	ID     *uint16 `json:"id,omitempty"`
	SrcKey *uint16 `json:"srckey,omitempty"`
	DstKey *uint16 `json:"dstkey,omitempty"`
}

func tupleJSON(t Tuple) jsonTuple {
	j := jsonTuple{Src: t.SrcAddr().String(), Dst: t.DstAddr().String()}
	switch t.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP, packet.ProtoDCCP:
		j.SPort, j.DPort = &t.SrcPort, &t.DstPort
	case packet.ProtoICMP, packet.ProtoICMPv6:
		typ, code := uint8(t.DstPort>>8), uint8(t.DstPort)
		j.Type, j.Code, j.ID = &typ, &code, &t.SrcPort
	case packet.ProtoGRE:
		j.SrcKey, j.DstKey = &t.SrcPort, &t.DstPort
	}
	return j
}

// MarshalJSON encodes the connection in the JSON form described above.
func (c Conn) MarshalJSON() ([]byte, error) {
	j := jsonConn{
		Family:   "ipv4",
		Proto:    protoNames[c.Orig.Proto],
		ProtoNum: c.Orig.Proto,
		Timeout:  max(int64(c.Timeout/time.Second), 0),
		Status:   []string{},
		Orig:     tupleJSON(c.Orig),
		Reply:    tupleJSON(c.Reply),
		Mark:     c.Mark,
		Zone:     c.Orig.Zone,
		Count: &jsonCounters{
			Orig:  jsonCounter(c.Counters[Original]),
			Reply: jsonCounter(c.Counters[Reply]),
		},
	}
	if c.Orig.Family == packet.IPv6 {
		j.Family = "ipv6"
	}
	if j.Proto == "" {
		j.Proto = "unknown"
	}
	if st, ok := c.protoState(); ok {
		j.State = st
	}
	for i, n := range statusNames {
		if c.Status&(1<<i) != 0 {
			j.Status = append(j.Status, n)
		}
	}
	if c.Labels != [2]uint64{} {
		j.Labels = fmt.Sprintf("0x%016x%016x", c.Labels[1], c.Labels[0])
	}
	if c.Helper != nil {
		j.Helper = c.Helper.Name()
	}
	return json.Marshal(j)
}

// The JSON form of an expectation, with conntrack -L expect's words:
//
//	{"family":"ipv4","proto":"tcp","proto_num":6,"timeout":297,
//	 "tuple":{"src":"10.0.0.2","dst":"10.0.0.1","sport":0,"dport":50000},
//	 "mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},
//	 "master":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":21},
//	 "class":0,"flags":[],"zone":0,"helper":"ftp"}
type jsonExpect struct {
	Family   string    `json:"family"`
	Proto    string    `json:"proto"`
	ProtoNum uint8     `json:"proto_num"`
	Timeout  int64     `json:"timeout"`
	Tuple    jsonTuple `json:"tuple"`
	Mask     jsonTuple `json:"mask"`
	Master   jsonTuple `json:"master"`
	Class    uint8     `json:"class"`
	Flags    []string  `json:"flags"`
	Zone     uint16    `json:"zone"`
	Helper   string    `json:"helper,omitempty"`
	Fn       string    `json:"fn,omitempty"`
}

// MarshalJSON encodes the expectation in the JSON form described above.
func (e Expectation) MarshalJSON() ([]byte, error) {
	mask := Tuple{Family: e.Tuple.Family, Proto: e.Tuple.Proto, DstPort: 0xffff}
	if e.Mask&ExpectAnySrcPort == 0 {
		mask.SrcPort = 0xffff
	}
	srcMask, dstMask := maskAddr(e.Tuple.Family, e.srcBits()).AsSlice(), maskAddr(e.Tuple.Family, addrLen(e.Tuple.Family)*8).AsSlice()
	copy(mask.Src[:], srcMask)
	copy(mask.Dst[:], dstMask)
	mj := tupleJSON(mask)
	if mj.SPort == nil {
		// The mask covers the ports whatever the protocol's tuple calls
		// them.
		mj = jsonTuple{Src: mj.Src, Dst: mj.Dst, SPort: &mask.SrcPort, DPort: &mask.DstPort}
	}
	j := jsonExpect{
		Family: "ipv4", Proto: protoNames[e.Tuple.Proto], ProtoNum: e.Tuple.Proto,
		Timeout: max(int64(e.Timeout/time.Second), 0),
		Tuple:   tupleJSON(e.Tuple), Mask: mj, Master: tupleJSON(e.Master),
		Class: e.Class, Flags: []string{}, Zone: e.Tuple.Zone, Fn: e.Fn,
	}
	if e.Tuple.Family == packet.IPv6 {
		j.Family = "ipv6"
	}
	if j.Proto == "" {
		j.Proto = "unknown"
	}
	for i, n := range expectFlagNames {
		if e.Flags&(1<<i) != 0 {
			j.Flags = append(j.Flags, n)
		}
	}
	if e.Helper != nil {
		j.Helper = e.Helper.Name()
	}
	return json.Marshal(j)
}
