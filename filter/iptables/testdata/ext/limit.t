# limit match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m limit;-m limit --limit 3/hour;OK
-m limit --limit 1/sec;=;OK
-m limit --limit 1/second;-m limit --limit 1/sec;OK
-m limit --limit 1/s;-m limit --limit 1/sec;OK
-m limit --limit 10/min;=;OK
-m limit --limit 10/minute;-m limit --limit 10/min;OK
-m limit --limit 10/m;-m limit --limit 10/min;OK
-m limit --limit 1/hour;=;OK
-m limit --limit 1/h;-m limit --limit 1/hour;OK
-m limit --limit 1/day;=;OK
-m limit --limit 1/d;-m limit --limit 1/day;OK
-m limit --limit 3/hour;=;OK
-m limit --limit 5/sec --limit-burst 10;=;OK
-m limit --limit-burst 10;-m limit --limit 3/hour --limit-burst 10;OK
-m limit --limit-burst 5;-m limit --limit 3/hour;OK
-m limit --limit 60/min;-m limit --limit 1/sec;OK
-m limit --limit 120/min;-m limit --limit 2/sec;OK
-m limit --limit 3600/hour;-m limit --limit 1/sec;OK
-m limit --limit 24/day;-m limit --limit 1/hour;OK
-m limit --limit 1440/day;-m limit --limit 1/min;OK
-m limit --limit 10000/sec;=;OK
-m limit --limit 10001/sec;;FAIL
-m limit --limit 0/sec;;FAIL
-m limit --limit 1;-m limit --limit 1/sec;OK
-m limit --limit 100;-m limit --limit 100/sec;OK
-m limit --limit 7/min;=;OK
-m limit --limit 90/hour;=;OK
-m limit --limit 1000/day;=;OK
-m limit --limit 1/foo;;FAIL
-m limit --limit foo/sec;;FAIL
-m limit --limit-burst 0;-m limit --limit 3/hour;OK
-m limit --limit-burst 10001;;FAIL
-m limit --limit-burst 10000;-m limit --limit 3/hour --limit-burst 10000;OK
-m limit --limit-burst 4294967295;;FAIL
-m limit --limit-burst foo;;FAIL
-m limit ! --limit 1/sec;;FAIL
-m limit --limit 1/sec --limit 2/sec;;FAIL
-m limit --limit 2/seconds;;FAIL
-m limit --limit 2/mi;-m limit --limit 2/min;OK
-m limit --limit 2/SEC;-m limit --limit 2/sec;OK
-m limit --limit 33/min;=;OK
-m limit --limit 999/hour;=;OK
-m limit --limit 1/sec --limit-burst 1;=;OK
-m limit --limit " 3/sec";-m limit --limit 3/sec;OK
-m limit --limit 3x/sec;-m limit --limit 3/sec;OK
-m limit --limit 3/;;FAIL
-m limit --limit /sec;;FAIL
-m limit --limit 3/second/;;FAIL
-m limit --limit 0x10/sec;;FAIL
-m limit --limit 010/sec;-m limit --limit 10/sec;OK
-m limit --limit 1/d --limit-burst 10000;-m limit --limit 1/day --limit-burst 10000;OK
-m limit --limit 10000/day;=;OK
-m limit --limit 864000000/day;-m limit --limit 10000/sec;OK
-m limit --limit 5000/hour;=;OK
-m limit --limit 250/sec;=;OK
-m limit --limit 9999/sec;-m limit --limit 10000/sec;OK
-m limit --limit 3333/sec;=;OK
-m limit --limit 61/min;=;OK
-m limit --limit 59/min;=;OK
-m limit --limit 86401/day;-m limit --limit 1/sec;OK
# rules combining several matches, in several tables
@family 4
*filter
:FORWARD
-p icmp -m icmp --icmp-type 8 -m limit --limit 1/sec -j ACCEPT;=;OK
@family 6
*filter
:FORWARD
-p ipv6-icmp -m icmp6 --icmpv6-type 128 -m limit --limit 5/sec -j ACCEPT;=;OK
