# iprange match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
-m iprange --src-range 1.1.1.1-1.1.1.10;=;OK
-m iprange ! --src-range 1.1.1.1-1.1.1.10;=;OK
-m iprange --dst-range 1.1.1.1-1.1.1.10;=;OK
-m iprange ! --dst-range 1.1.1.1-1.1.1.10;=;OK
-m iprange --src-range 1.1.1.1-1.1.1.10 --dst-range 2.2.2.2-2.2.2.20;=;OK
-m iprange --dst-range 2.2.2.2-2.2.2.20 --src-range 1.1.1.1-1.1.1.10;-m iprange --src-range 1.1.1.1-1.1.1.10 --dst-range 2.2.2.2-2.2.2.20;OK
-m iprange --src-range 1.1.1.1;-m iprange --src-range 1.1.1.1-1.1.1.1;OK
-m iprange --src-range 1.1.1.10-1.1.1.1;=;OK
-m iprange --src-range 1.1.1.1-1.1.1.1;=;OK
-m iprange --src-range 1.1.1.1-;;FAIL
-m iprange --src-range -1.1.1.1;;FAIL
-m iprange --src-range foo;;FAIL
-m iprange --src-range 1.1.1.1-::1;;FAIL
-m iprange --src-range 1.1.1.1/24-1.1.1.5;;FAIL
-m iprange;;FAIL
-m iprange --src-range 0.0.0.0-255.255.255.255;=;OK
-m iprange --src-range 1.1.1.1-1.1.1.10 --src-range 1.1.1.1-1.1.1.10;;FAIL
@family 6
-m iprange --src-range 2001:db8::1-2001:db8::10;=;OK
-m iprange ! --dst-range 2001:db8::1-2001:db8::10;=;OK
-m iprange --src-range ::1-::2 --dst-range fe80::1-fe80::ffff;=;OK
-m iprange --src-range 1.1.1.1-1.1.1.2;;FAIL
-m iprange --src-range 2001:DB8::1-2001:db8::0010;-m iprange --src-range 2001:db8::1-2001:db8::10;OK
-m iprange --src-range 2001:db8::10-2001:db8::1;=;OK
# rules combining several matches, in several tables
@family 4
*nat
:PREROUTING,POSTROUTING
-m iprange --src-range 10.0.0.1-10.0.0.100 -j ACCEPT;=;OK
@family 4
*filter
:FORWARD
-m iprange --src-range 192.168.0.10-192.168.0.20 --dst-range 10.0.0.1-10.0.0.2 -j DROP;=;OK
@family 6
*filter
:FORWARD
-m iprange --dst-range fe80::1-fe80::ff -j DROP;=;OK
