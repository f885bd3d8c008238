# TOS (revision 1): mangle table only; saved as --set-tos value/mask.
@family 46
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j TOS --set-tos 0x10;-j TOS --set-tos 0x10/0xff;OK
-j TOS --set-tos 16;-j TOS --set-tos 0x10/0xff;OK
-j TOS --set-tos 0x10/0x3f;=;OK
-j TOS --set-tos 0/0xff;-j TOS --set-tos 0x00/0xff;OK
-j TOS --set-tos Minimize-Delay;-j TOS --set-tos 0x10/0x3f;OK
-j TOS --set-tos Maximize-Throughput;-j TOS --set-tos 0x08/0x3f;OK
-j TOS --set-tos Maximize-Reliability;-j TOS --set-tos 0x04/0x3f;OK
-j TOS --set-tos Minimize-Cost;-j TOS --set-tos 0x02/0x3f;OK
-j TOS --set-tos Normal-Service;-j TOS --set-tos 0x00/0x3f;OK
-j TOS --set-tos minimize-cost;-j TOS --set-tos 0x02/0x3f;OK
-j TOS --set-tos maximize-THROUGHPUT;-j TOS --set-tos 0x08/0x3f;OK
-j TOS --and-tos 0x0f;-j TOS --set-tos 0x00/0xf0;OK
-j TOS --or-tos 0x10;-j TOS --set-tos 0x10/0x10;OK
-j TOS --xor-tos 0x10;-j TOS --set-tos 0x10/0x00;OK
-j TOS --set-tos 256;;FAIL
-j TOS --set-tos 0x10/0x100;;FAIL
-j TOS --set-tos Minimize;;FAIL
-j TOS --set-tos 0x10/;;FAIL
-j TOS --and-tos 256;;FAIL
-j TOS;;FAIL
-j TOS --set-tos 1 --or-tos 2;;FAIL
*filter
:INPUT
-j TOS --set-tos 0x10;;FAIL
