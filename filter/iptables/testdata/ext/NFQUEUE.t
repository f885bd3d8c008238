# NFQUEUE (revision 3): any table.
@family 46
:INPUT,FORWARD,OUTPUT
-j NFQUEUE;-j NFQUEUE --queue-num 0;OK
-j NFQUEUE --queue-num 0;=;OK
-j NFQUEUE --queue-num 5;=;OK
-j NFQUEUE --queue-num 65535;=;OK
-j NFQUEUE --queue-num 0x10;-j NFQUEUE --queue-num 16;OK
-j NFQUEUE --queue-num 65536;;FAIL
-j NFQUEUE --queue-num -1;;FAIL
-j NFQUEUE --queue-num foo;;FAIL
-j NFQUEUE --queue-balance 0:3;=;OK
-j NFQUEUE --queue-balance :3;-j NFQUEUE --queue-balance 0:3;OK
-j NFQUEUE --queue-balance 1:65535;=;OK
-j NFQUEUE --queue-balance 0:65535;;FAIL
-j NFQUEUE --queue-balance 3:3;;FAIL
-j NFQUEUE --queue-balance 3:1;;FAIL
-j NFQUEUE --queue-balance 5;;FAIL
-j NFQUEUE --queue-balance 1:3 --queue-bypass;=;OK
-j NFQUEUE --queue-bypass;-j NFQUEUE --queue-num 0 --queue-bypass;OK
-j NFQUEUE --queue-num 2 --queue-bypass;=;OK
-j NFQUEUE --queue-balance 0:3 --queue-cpu-fanout;=;OK
-j NFQUEUE --queue-balance 0:3 --queue-cpu-fanout --queue-bypass;-j NFQUEUE --queue-balance 0:3 --queue-bypass --queue-cpu-fanout;OK
-j NFQUEUE --queue-balance 0:1 --queue-bypass --queue-cpu-fanout;=;OK
-j NFQUEUE --queue-cpu-fanout;;FAIL
-j NFQUEUE --queue-num 1 --queue-balance 0:3;;FAIL
-j NFQUEUE --queue-num 1 --queue-num 2;;FAIL
-j NFQUEUE --fail-open;;FAIL
-j NFQUEUE --queue-bypass --queue-bypass;;FAIL
-j NFQUEUE ! --queue-num 1;;FAIL
-p tcp --dport 80 -j NFQUEUE --queue-num 3 --queue-bypass;-p tcp -m tcp --dport 80 -j NFQUEUE --queue-num 3 --queue-bypass;OK
*mangle
:PREROUTING,POSTROUTING
-j NFQUEUE --queue-num 1;=;OK
*raw
:PREROUTING,OUTPUT
-j NFQUEUE --queue-balance 2:9;=;OK
