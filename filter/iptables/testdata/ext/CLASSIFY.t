# CLASSIFY: mangle table, FORWARD, OUTPUT and POSTROUTING.
@family 46
*mangle
:FORWARD,OUTPUT,POSTROUTING
-j CLASSIFY --set-class 1:2;-j CLASSIFY --set-class 0001:0002;OK
-j CLASSIFY --set-class 10:ffff;-j CLASSIFY --set-class 0010:ffff;OK
-j CLASSIFY --set-class 0x10:0x20;-j CLASSIFY --set-class 0010:0020;OK
-j CLASSIFY --set-class 0:0;-j CLASSIFY --set-class 0000:0000;OK
-j CLASSIFY --set-class 1;;FAIL
-j CLASSIFY --set-class 10000:1;-j CLASSIFY --set-class 0000:0001;OK
-j CLASSIFY --set-class x:1;;FAIL
-j CLASSIFY;;FAIL
:INPUT
-j CLASSIFY --set-class 1:2;;FAIL
*filter
:FORWARD
-j CLASSIFY --set-class 1:2;-j CLASSIFY --set-class 0001:0002;OK
