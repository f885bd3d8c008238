package daemon

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/nfgo/nfgo"
)

// LearnHost reads the machine's interfaces, addresses and main-table
// routes from the kernel over rtnetlink, as the engine's Host model.
func LearnHost() (nfgo.Host, error) {
	h, _, err := learnHost()
	return h, err
}

// learnHost is LearnHost that also returns the interfaces' names by
// index, which NFQUEUE reports packets' interfaces by.
func learnHost() (nfgo.Host, map[uint32]string, error) {
	var h nfgo.Host
	ifs, err := net.Interfaces()
	if err != nil {
		return h, nil, fmt.Errorf("interfaces: %w", err)
	}
	names := map[uint32]string{}
	for _, ifc := range ifs {
		names[uint32(ifc.Index)] = ifc.Name
		addrs, err := ifc.Addrs()
		if err != nil {
			return h, nil, fmt.Errorf("addresses of %s: %w", ifc.Name, err)
		}
		out := nfgo.Interface{Name: ifc.Name, MTU: ifc.MTU}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(n.IP)
				ones, _ := n.Mask.Size()
				out.Addrs = append(out.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
			}
		}
		h.Interfaces = append(h.Interfaces, out)
	}
	routes, err := mainRoutes(names)
	if err != nil {
		return h, nil, err
	}
	for _, r := range routes {
		if r.Dst.Bits() == 0 && r.Dst.Addr().Is4() && h.DefaultOut == "" {
			h.DefaultOut = r.Out
		}
	}
	h.Routes = routes
	return h, names, nil
}

// mainRoutes dumps the unicast routes of the main table, longest prefix
// first.
func mainRoutes(names map[uint32]string) ([]nfgo.Route, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETROUTE, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("route dump: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("route dump: %w", err)
	}
	var routes []nfgo.Route
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWROUTE || len(m.Data) < syscall.SizeofRtMsg {
			continue
		}
		family, dstLen, table, typ := m.Data[0], m.Data[1], m.Data[4], m.Data[7]
		if typ != syscall.RTN_UNICAST {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		var dst []byte
		var oif uint32
		tableID := uint32(table)
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.RTA_DST:
				dst = a.Value
			case syscall.RTA_OIF:
				if len(a.Value) >= 4 {
					oif = binary.NativeEndian.Uint32(a.Value)
				}
			case syscall.RTA_TABLE:
				if len(a.Value) >= 4 {
					tableID = binary.NativeEndian.Uint32(a.Value)
				}
			}
		}
		if tableID != syscall.RT_TABLE_MAIN || names[oif] == "" {
			continue
		}
		var addr netip.Addr
		switch {
		case family == syscall.AF_INET && dst == nil:
			addr = netip.IPv4Unspecified()
		case family == syscall.AF_INET6 && dst == nil:
			addr = netip.IPv6Unspecified()
		default:
			var ok bool
			if addr, ok = netip.AddrFromSlice(dst); !ok {
				continue
			}
		}
		routes = append(routes, nfgo.Route{Dst: netip.PrefixFrom(addr, int(dstLen)), Out: names[oif]})
	}
	slices.SortStableFunc(routes, func(a, b nfgo.Route) int { return b.Dst.Bits() - a.Dst.Bits() })
	return routes, nil
}
