# sctp match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:INPUT,FORWARD,OUTPUT
@family 46
-p sctp -m sctp --sport 1:2 ! --dport 3;=;OK
-p sctp -m sctp --dport 80 --dport 81;;FAIL
-p sctp -m sctp --source-port 1 --sport 2;;FAIL
-p sctp -m sctp --chunk-types any DATA,INIT;=;OK
-p sctp -m sctp ! --chunk-types only data:Be,abort:t;-p sctp -m sctp ! --chunk-types only DATA:Be,ABORT:t;OK
-p sctp -m sctp --chunk-types all ALL;=;OK
-p sctp -m sctp --chunk-types all NONE;=;OK
-p sctp -m sctp --chunk-types some DATA;;FAIL
-p sctp -m sctp --chunk-types any FOO;;FAIL
-p sctp -m sctp --chunk-types any INIT:x;;FAIL
-p sctp -m sctp --chunk-types any;;FAIL
-m sctp --dport 80;;FAIL
-p sctp -m sctp --dport 5:3;;FAIL
-p sctp -m sctp --dport :3;-p sctp -m sctp --dport 0:3;OK
-p sctp -m sctp --sport 2:;-p sctp -m sctp --sport 2:65535;OK
-p sctp -m sctp --chunk-types any ASCONF,FORWARD_TSN,ASCONF_ACK,DATA;-p sctp -m sctp --chunk-types any DATA,ASCONF_ACK,FORWARD_TSN,ASCONF;OK
-p sctp -m sctp --chunk-types any DATA:IUBE,ABORT:T,SHUTDOWN_COMPLETE:t;=;OK
-p sctp --dport 80;-p sctp -m sctp --dport 80;OK
-p sctp -m sctp --dport 80 --chunk-types only INIT -j ACCEPT;=;OK
