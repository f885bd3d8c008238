# ttl match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
-m ttl --ttl-eq 1;=;OK
-m ttl ! --ttl-eq 1;=;OK
-m ttl --ttl-lt 10;=;OK
-m ttl --ttl-gt 10;=;OK
-m ttl --ttl-eq 0;=;OK
-m ttl --ttl-eq 255;=;OK
-m ttl --ttl-eq 256;;FAIL
-m ttl --ttl-eq -1;;FAIL
-m ttl --ttl-eq foo;;FAIL
-m ttl --ttl-eq 0x10;-m ttl --ttl-eq 16;OK
-m ttl ! --ttl-lt 10;;FAIL
-m ttl ! --ttl-gt 10;;FAIL
-m ttl --ttl-eq 1 --ttl-lt 2;;FAIL
-m ttl --ttl-lt 2 --ttl-gt 1;;FAIL
-m ttl;;FAIL
@family 6
-m ttl --ttl-eq 1;;FAIL
# rules combining several matches, in several tables
@family 4
*filter
:FORWARD
-m ttl --ttl-lt 2 -j DROP;=;OK
