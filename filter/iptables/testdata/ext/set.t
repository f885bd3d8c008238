# set match: generated with iptables 1.8.9 (nf_tables), ipset restore + iptables-restore + iptables-save in a netns
@ipset create foo hash:ip,port
@ipset create bar hash:net skbinfo counters
@ipset create foo6 hash:ip family inet6
@ipset create ports bitmap:port range 1-1024
@ipset create l list:set
@family 4
-m set --match-set foo src;=;OK
-m set --match-set foo src,dst;=;OK
-m set ! --match-set foo dst,src,src;=;OK
-m set --match-set foo src --return-nomatch ! --update-counters ! --update-subcounters --packets-eq 5 ! --bytes-eq 7;=;OK
-m set --match-set foo src --packets-lt 5 --bytes-gt 7;=;OK
-m set --match-set foo src,dst,src,dst,src,dst;=;OK
-m set --match-set foo src,dst,src,dst,src,dst,src;;FAIL
-m set --match-set foo sr;;FAIL
-m set --match-set nosuch src;;FAIL
-m set --set foo src;-m set --match-set foo src;OK
-m set --match-set foo src --match-set bar dst;;FAIL
-m set --match-set foo src -m set --match-set bar dst;=;OK
-m set;;FAIL
-m set --match-set foo src --packets-eq 5 --packets-lt 3;;FAIL
-m set --match-set foo6 src;;FAIL
-m set --match-set ports dst;=;OK
-m set --match-set l src;=;OK
-m set --match-set abcdefghijabcdefghijabcdefghijabc src;;FAIL
-j SET --add-set foo src,dst;=;OK
-j SET --add-set foo src --timeout 5 --exist;-j SET --add-set foo src --exist --timeout 5;OK
-j SET --del-set foo src --add-set bar dst;-j SET --add-set bar dst --del-set foo src;OK
-j SET --add-set foo src --del-set bar dst --timeout 10;-j SET --add-set foo src --timeout 10 --del-set bar dst;OK
-j SET --exist;;FAIL
-j SET --timeout 5;;FAIL
-j SET --map-set bar dst --map-mark;;FAIL
-j SET --map-set bar dst;;FAIL
-j SET --add-set nosuch src;;FAIL
-j SET --add-set l src;=;OK
-j SET --add-set foo6 src;;FAIL
*mangle
:PREROUTING
-j SET --map-set bar dst --map-mark;=;OK
-j SET --map-set bar dst --map-mark --map-prio;;FAIL
-j SET --map-set bar dst --map-queue;;FAIL
:POSTROUTING
-j SET --map-set bar dst --map-mark --map-prio --map-queue;=;OK
@family 6
*filter
:INPUT
-m set --match-set foo6 src;=;OK
-m set --match-set foo src;;FAIL
-m set --match-set ports src;=;OK
-m set --match-set l src;=;OK
