@family 6
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j HL --hl-set 64;=;OK
-j HL --hl-set 0;=;OK
-j HL --hl-dec 1;=;OK
-j HL --hl-inc 2;=;OK
-j HL --hl-dec 255;=;OK
-j HL --hl-dec 0;;FAIL
-j HL --hl-set 256;;FAIL
-j HL;;FAIL
-j HL --hl-dec 1 --hl-inc 1;;FAIL
-j HL --ttl-set 1;;FAIL
*filter
:INPUT
-j HL --hl-set 1;;FAIL
@family 4
*mangle
:PREROUTING
-j HL --hl-set 1;;FAIL
