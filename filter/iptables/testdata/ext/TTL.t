# TTL (IPv4) and HL (IPv6): mangle table only.
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j TTL --ttl-set 64;=;OK
-j TTL --ttl-set 0;=;OK
-j TTL --ttl-set 255;=;OK
-j TTL --ttl-set 0x10;-j TTL --ttl-set 16;OK
-j TTL --ttl-dec 1;=;OK
-j TTL --ttl-inc 1;=;OK
-j TTL --ttl-inc 255;=;OK
-j TTL --ttl-dec 0;;FAIL
-j TTL --ttl-inc 0;;FAIL
-j TTL --ttl-set 256;;FAIL
-j TTL --ttl-set -1;;FAIL
-j TTL;;FAIL
-j TTL --ttl-set 1 --ttl-inc 1;;FAIL
-j TTL --ttl-set 1 --ttl-set 2;;FAIL
-j TTL ! --ttl-set 1;;FAIL
-j TTL --hl-set 1;;FAIL
*filter
:INPUT
-j TTL --ttl-set 1;;FAIL
*raw
:PREROUTING
-j TTL --ttl-set 1;;FAIL
