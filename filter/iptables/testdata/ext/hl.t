# hl match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 6
-m hl --hl-eq 1;=;OK
-m hl ! --hl-eq 1;=;OK
-m hl --hl-lt 10;=;OK
-m hl --hl-gt 10;=;OK
-m hl --hl-eq 0;=;OK
-m hl --hl-eq 255;=;OK
-m hl --hl-eq 256;;FAIL
-m hl --hl-eq foo;;FAIL
-m hl ! --hl-lt 10;;FAIL
-m hl ! --hl-gt 10;;FAIL
-m hl --hl-eq 1 --hl-gt 2;;FAIL
-m hl;;FAIL
@family 4
-m hl --hl-eq 1;;FAIL
# rules combining several matches, in several tables
@family 6
*filter
:FORWARD
-m hl --hl-eq 255 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT;-p ipv6-icmp -m hl --hl-eq 255 -m icmp6 --icmpv6-type 135 -j ACCEPT;OK
