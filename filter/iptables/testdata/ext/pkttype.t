# pkttype match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m pkttype --pkt-type unicast;=;OK
-m pkttype --pkt-type broadcast;=;OK
-m pkttype --pkt-type multicast;=;OK
-m pkttype ! --pkt-type unicast;=;OK
-m pkttype ! --pkt-type multicast;=;OK
-m pkttype --pkt-type host;-m pkttype --pkt-type unicast;OK
-m pkttype --pkt-type otherhost;=;OK
-m pkttype --pkt-type outgoing;;FAIL
-m pkttype --pkt-type loopback;;FAIL
-m pkttype --pkt-type Unicast;-m pkttype --pkt-type unicast;OK
-m pkttype --pkt-type BROADCAST;-m pkttype --pkt-type broadcast;OK
-m pkttype --pkt-type foo;;FAIL
-m pkttype --pkt-type 0;;FAIL
-m pkttype;;FAIL
