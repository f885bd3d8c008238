# addrtype match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 4
-m addrtype --src-type LOCAL;=;OK
-m addrtype --dst-type LOCAL;=;OK
-m addrtype ! --src-type LOCAL;=;OK
-m addrtype ! --dst-type UNICAST;=;OK
-m addrtype --src-type LOCAL,UNICAST;-m addrtype --src-type UNICAST,LOCAL;OK
-m addrtype --src-type UNICAST,LOCAL;=;OK
-m addrtype --src-type UNSPEC;=;OK
-m addrtype --src-type BROADCAST;=;OK
-m addrtype --src-type ANYCAST;=;OK
-m addrtype --src-type MULTICAST;=;OK
-m addrtype --src-type BLACKHOLE;=;OK
-m addrtype --src-type UNREACHABLE;=;OK
-m addrtype --src-type PROHIBIT;=;OK
-m addrtype --src-type THROW;=;OK
-m addrtype --src-type NAT;=;OK
-m addrtype --src-type XRESOLVE;=;OK
-m addrtype --src-type local;-m addrtype --src-type LOCAL;OK
-m addrtype --src-type FOO;;FAIL
-m addrtype --src-type LOCAL --dst-type BROADCAST;=;OK
-m addrtype --dst-type BROADCAST --src-type LOCAL;-m addrtype --src-type LOCAL --dst-type BROADCAST;OK
-m addrtype ! --src-type LOCAL ! --dst-type MULTICAST;=;OK
-m addrtype --src-type LOCAL --limit-iface-in;=;OK
-m addrtype --dst-type LOCAL --limit-iface-out;;FAIL
-m addrtype --dst-type LOCAL --limit-iface-in --limit-iface-out;;FAIL
-m addrtype;;FAIL
-m addrtype --limit-iface-in;;FAIL
-m addrtype --src-type UNSPEC,UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE;=;OK
:OUTPUT
-m addrtype --src-type LOCAL --limit-iface-in;;FAIL
-m addrtype --src-type LOCAL --limit-iface-out;=;OK
:FORWARD
-m addrtype --src-type LOCAL --limit-iface-in;=;OK
-m addrtype --src-type LOCAL --limit-iface-out;=;OK
:INPUT
-m addrtype --src-type LOCAL --limit-iface-out;;FAIL
@family 6
-m addrtype --src-type LOCAL;=;OK
-m addrtype --dst-type MULTICAST;=;OK
-m addrtype --src-type BLACKHOLE;;FAIL
-m addrtype --src-type UNREACHABLE;=;OK
-m addrtype --src-type PROHIBIT;;FAIL
-m addrtype --src-type THROW;;FAIL
-m addrtype --src-type NAT;;FAIL
-m addrtype --src-type XRESOLVE;;FAIL
-m addrtype --src-type BROADCAST;;FAIL
-m addrtype --src-type ANYCAST;=;OK
-m addrtype --src-type UNSPEC;=;OK
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-m addrtype --dst-type LOCAL -m pkttype --pkt-type unicast -j ACCEPT;=;OK
@family 46
*mangle
:PREROUTING,POSTROUTING
-m addrtype --src-type LOCAL -j ACCEPT;=;OK
@family 46
*raw
:PREROUTING,OUTPUT
-m addrtype --dst-type LOCAL -j ACCEPT;=;OK
@family 46
*nat
:PREROUTING,POSTROUTING
-m addrtype --dst-type LOCAL -j ACCEPT;=;OK
