# DSCP: mangle table only; saved as --set-dscp 0xNN.
@family 46
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j DSCP --set-dscp 10;-j DSCP --set-dscp 0x0a;OK
-j DSCP --set-dscp 0;-j DSCP --set-dscp 0x00;OK
-j DSCP --set-dscp 0x3f;=;OK
-j DSCP --set-dscp 63;-j DSCP --set-dscp 0x3f;OK
-j DSCP --set-dscp-class EF;-j DSCP --set-dscp 0x2e;OK
-j DSCP --set-dscp-class ef;-j DSCP --set-dscp 0x2e;OK
-j DSCP --set-dscp-class af41;-j DSCP --set-dscp 0x22;OK
-j DSCP --set-dscp-class AF11;-j DSCP --set-dscp 0x0a;OK
-j DSCP --set-dscp-class cs0;-j DSCP --set-dscp 0x00;OK
-j DSCP --set-dscp-class CS7;-j DSCP --set-dscp 0x38;OK
-j DSCP --set-dscp-class be;-j DSCP --set-dscp 0x00;OK
-j DSCP --set-dscp 64;;FAIL
-j DSCP --set-dscp-class foo;;FAIL
-j DSCP --set-dscp-class le;;FAIL
-j DSCP --set-dscp-class af4;;FAIL
-j DSCP --set-dscp-class efx;-j DSCP --set-dscp 0x2e;OK
-j DSCP;;FAIL
-j DSCP --set-dscp 1 --set-dscp-class ef;;FAIL
*filter
:FORWARD
-j DSCP --set-dscp 1;;FAIL
