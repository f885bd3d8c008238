# ecn match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
-p tcp -m ecn --ecn-tcp-cwr;=;OK
-p tcp -m ecn --ecn-tcp-ece;=;OK
-p tcp -m ecn ! --ecn-tcp-cwr;=;OK
-p tcp -m ecn ! --ecn-tcp-ece;=;OK
-p tcp -m ecn --ecn-tcp-cwr --ecn-tcp-ece;-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr;OK
-p tcp -m ecn --ecn-ip-ect 0;=;OK
-p tcp -m ecn --ecn-ip-ect 1;=;OK
-p tcp -m ecn --ecn-ip-ect 2;=;OK
-p tcp -m ecn --ecn-ip-ect 3;=;OK
-p tcp -m ecn ! --ecn-ip-ect 3;=;OK
-p tcp -m ecn --ecn-ip-ect 4;;FAIL
-p tcp -m ecn --ecn-ip-ect foo;;FAIL
-m ecn --ecn-ip-ect 1;=;OK
-m ecn ! --ecn-ip-ect 1;=;OK
-m ecn --ecn-tcp-cwr;;FAIL
-p udp -m ecn --ecn-tcp-cwr;;FAIL
! -p tcp -m ecn --ecn-tcp-ece;;FAIL
-p tcp -m ecn --ecn-ip-ect 1 --ecn-tcp-ece --ecn-tcp-cwr;-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr --ecn-ip-ect 1;OK
-p tcp -m ecn;;FAIL
@family 6
-p tcp -m ecn --ecn-tcp-cwr;=;OK
-m ecn --ecn-ip-ect 2;=;OK
# rules combining several matches, in several tables
@family 4
*filter
:FORWARD
-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr -j DROP;=;OK
