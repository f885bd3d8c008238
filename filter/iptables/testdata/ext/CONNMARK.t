# CONNMARK (revision 2): any table.
@family 46
*mangle
:PREROUTING,FORWARD
-j CONNMARK --set-mark 1;-j CONNMARK --set-xmark 0x1/0xffffffff;OK
-j CONNMARK --set-mark 1/0xff;-j CONNMARK --set-xmark 0x1/0xff;OK
-j CONNMARK --set-xmark 1/0xff;-j CONNMARK --set-xmark 0x1/0xff;OK
-j CONNMARK --set-xmark 0x10;-j CONNMARK --set-xmark 0x10/0xffffffff;OK
-j CONNMARK --and-mark 0xf;-j CONNMARK --set-xmark 0x0/0xfffffff0;OK
-j CONNMARK --or-mark 0xf;-j CONNMARK --set-xmark 0xf/0xf;OK
-j CONNMARK --xor-mark 0xf;-j CONNMARK --set-xmark 0xf/0x0;OK
-j CONNMARK --save-mark;-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff;OK
-j CONNMARK --restore-mark;-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff;OK
-j CONNMARK --save-mark --mask 0xff;-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff;OK
-j CONNMARK --restore-mark --mask 0xff;-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff;OK
-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf0;=;OK
-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0;=;OK
-j CONNMARK --save-mark --ctmask 0xff;-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xff;OK
-j CONNMARK --set-mark 1 --mask 2;-j CONNMARK --set-xmark 0x1/0x2;OK
-j CONNMARK --save-mark --left-shift-mark 8;-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff --left-shift-mark 8;OK
-j CONNMARK --restore-mark --right-shift-mark 8;-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff --right-shift-mark 8;OK
-j CONNMARK --save-mark --ctmask 0xff --left-shift-mark 1 --right-shift-mark 2;-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xff --right-shift-mark 2;OK
-j CONNMARK --save-mark --left-shift-mark 0;-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff;OK
-j CONNMARK --set-mark 1 --left-shift-mark 2;-j CONNMARK --set-xmark 0x1/0xffffffff --left-shift-mark 2;OK
-j CONNMARK;;FAIL
-j CONNMARK --set-mark 1 --save-mark;;FAIL
-j CONNMARK --restore-mark --mask 0xff --nfmask 1;;FAIL
-j CONNMARK --set-mark foo;;FAIL
-j CONNMARK --save-mark --save-mark;;FAIL
-j CONNMARK --mask 1;;FAIL
*filter
:INPUT
-j CONNMARK --set-mark 1;-j CONNMARK --set-xmark 0x1/0xffffffff;OK
-j CONNMARK --restore-mark;-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff;OK
