# MARK (revision 2): any table; saved as --set-xmark value/mask.
@family 46
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j MARK --set-mark 1;-j MARK --set-xmark 0x1/0xffffffff;OK
-j MARK --set-mark 0x10/0xff;-j MARK --set-xmark 0x10/0xff;OK
-j MARK --set-mark 4294967295/0;-j MARK --set-xmark 0xffffffff/0xffffffff;OK
-j MARK --set-mark 0xffffffff;-j MARK --set-xmark 0xffffffff/0xffffffff;OK
-j MARK --set-mark 010;-j MARK --set-xmark 0x8/0xffffffff;OK
-j MARK --set-mark " 1";-j MARK --set-xmark 0x1/0xffffffff;OK
-j MARK --set-xmark 5;-j MARK --set-xmark 0x5/0xffffffff;OK
-j MARK --set-xmark 0x5/0xf;=;OK
-j MARK --set-xmark 0x0/0x0;=;OK
-j MARK --set-xmark 0x1/0xffffffff;=;OK
-j MARK --and-mark 0xf0;-j MARK --set-xmark 0x0/0xffffff0f;OK
-j MARK --and-mark 0;-j MARK --set-xmark 0x0/0xffffffff;OK
-j MARK --or-mark 3;-j MARK --set-xmark 0x3/0x3;OK
-j MARK --xor-mark 3;-j MARK --set-xmark 0x3/0x0;OK
-j MARK --xor-mark 0xffffffff;-j MARK --set-xmark 0xffffffff/0x0;OK
-j MARK --set-mark foo;;FAIL
-j MARK --set-mark 0x100000000;;FAIL
-j MARK --set-mark -1;;FAIL
-j MARK --set-mark 1/;;FAIL
-j MARK --set-mark 1/2/3;;FAIL
-j MARK --and-mark 1/2;;FAIL
-j MARK --or-mark foo;;FAIL
-j MARK;;FAIL
-j MARK --set-mark 1 --or-mark 2;;FAIL
-j MARK --set-mark 1 --set-xmark 2;;FAIL
-j MARK --set-mark 1 --set-mark 2;;FAIL
-j MARK ! --set-mark 1;;FAIL
-j MARK --set 1;;FAIL
-j MARK --or 1;-j MARK --set-xmark 0x1/0x1;OK
*filter
:INPUT,FORWARD,OUTPUT
-j MARK --set-mark 7;-j MARK --set-xmark 0x7/0xffffffff;OK
-j MARK --or-mark 0x100;-j MARK --set-xmark 0x100/0x100;OK
*raw
:PREROUTING,OUTPUT
-j MARK --set-xmark 0x1/0x1;=;OK
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j MARK --set-mark 1;-j MARK --set-xmark 0x1/0xffffffff;OK
