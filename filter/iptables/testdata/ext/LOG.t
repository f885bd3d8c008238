# LOG: any table and chain.
@family 46
:INPUT,FORWARD,OUTPUT
-j LOG;=;OK
-j LOG --log-prefix "x: ";=;OK
-j LOG --log-prefix abc;=;OK
-j LOG --log-prefix "IPT DROP ";=;OK
-j LOG --log-prefix 'quoted single';;FAIL
-j LOG --log-prefix 12345678901234567890123456789;=;OK
-j LOG --log-prefix 123456789012345678901234567890123;-j LOG --log-prefix 12345678901234567890123456789;OK
-j LOG --log-prefix "";;FAIL
-j LOG --log-prefix;;FAIL
-j LOG --log-prefix a --log-prefix b;;FAIL
-j LOG --log-level 4;-j LOG;OK
-j LOG --log-level warning;-j LOG;OK
-j LOG --log-level 0;=;OK
-j LOG --log-level 1;=;OK
-j LOG --log-level 2;=;OK
-j LOG --log-level 3;=;OK
-j LOG --log-level 5;=;OK
-j LOG --log-level 6;=;OK
-j LOG --log-level 7;=;OK
-j LOG --log-level emerg;-j LOG --log-level 0;OK
-j LOG --log-level panic;-j LOG --log-level 0;OK
-j LOG --log-level alert;-j LOG --log-level 1;OK
-j LOG --log-level crit;-j LOG --log-level 2;OK
-j LOG --log-level error;-j LOG --log-level 3;OK
-j LOG --log-level notice;-j LOG --log-level 5;OK
-j LOG --log-level info;-j LOG --log-level 6;OK
-j LOG --log-level debug;-j LOG --log-level 7;OK
-j LOG --log-level 04;-j LOG;OK
-j LOG --log-level 0x7;-j LOG --log-level 7;OK
-j LOG --log-level 8;;FAIL
-j LOG --log-level warn;;FAIL
-j LOG --log-level err;;FAIL
-j LOG --log-level WARNING;;FAIL
-j LOG --log-level foo;;FAIL
-j LOG --log-level 3 --log-level 4;;FAIL
-j LOG --log-tcp-sequence;=;OK
-j LOG --log-tcp-options;=;OK
-j LOG --log-ip-options;=;OK
-j LOG --log-uid;=;OK
-j LOG --log-macdecode;=;OK
-j LOG --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode;=;OK
-j LOG --log-macdecode --log-uid --log-ip-options --log-tcp-options --log-tcp-sequence --log-prefix p --log-level 1;-j LOG --log-prefix p --log-level 1 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode;OK
-j LOG --log-prefix "dropped: " --log-level debug --log-uid;-j LOG --log-prefix "dropped: " --log-level 7 --log-uid;OK
-j LOG --log-uid --log-uid;;FAIL
-j LOG ! --log-uid;;FAIL
-j LOG --log-foo;;FAIL
-p tcp --dport 22 -j LOG --log-prefix "ssh " --log-level info;-p tcp -m tcp --dport 22 -j LOG --log-prefix "ssh " --log-level 6;OK
*mangle
:PREROUTING,POSTROUTING
-j LOG --log-prefix mangle;=;OK
*raw
:PREROUTING,OUTPUT
-j LOG --log-level 6;=;OK
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j LOG;=;OK
