# NFLOG target: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:INPUT,FORWARD,OUTPUT
@family 46
-j NFLOG;=;OK
-j NFLOG --nflog-group 5 --nflog-prefix "hello world" --nflog-size 128 --nflog-threshold 10;-j NFLOG --nflog-prefix "hello world" --nflog-group 5 --nflog-size 128 --nflog-threshold 10;OK
-j NFLOG --nflog-range 100;-j NFLOG;OK
-j NFLOG --nflog-group 65536;;FAIL
-j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;=;OK
-j NFLOG --nflog-prefix "";;FAIL
-j NFLOG --nflog-threshold 0;-j NFLOG;OK
-j NFLOG --nflog-threshold 1;=;OK
-j NFLOG --nflog-size 0;=;OK
-j NFLOG --nflog-size 4294967295;=;OK
-j NFLOG --nflog-range 5 --nflog-size 6;;FAIL
-j NFLOG --nflog-prefix "a\"b";=;OK
-j NFLOG --nflog-group 0;-j NFLOG;OK
-j NFLOG --nflog-prefix abc;=;OK
-j NFLOG --nflog-prefix "a b" --nflog-range 7 --nflog-threshold 3;-j NFLOG --nflog-prefix "a b" --nflog-threshold 3;OK
-j NFLOG --nflog-group 2 --nflog-group 3;;FAIL
