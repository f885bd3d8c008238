# connlimit match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 4
-p tcp -m connlimit --connlimit-above 2;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-upto 2;-p tcp -m connlimit --connlimit-upto 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit ! --connlimit-above 2;-p tcp -m connlimit --connlimit-upto 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit ! --connlimit-upto 2;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 24;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 24 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 0;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 0 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 33;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-saddr;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-daddr;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-daddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-daddr --connlimit-mask 16;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 16 --connlimit-daddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-saddr --connlimit-daddr;;FAIL
-m connlimit --connlimit-above 2;-m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 0;-p tcp -m connlimit --connlimit-above 0 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 4294967295;-p tcp -m connlimit --connlimit-above 4294967295 --connlimit-mask 32 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 4294967296;;FAIL
-p tcp -m connlimit --connlimit-above foo;;FAIL
-p tcp -m connlimit --connlimit-above 2 --connlimit-upto 3;;FAIL
-p tcp -m connlimit --connlimit-mask 24;;FAIL
-p tcp -m connlimit;;FAIL
-p tcp -m connlimit --connlimit-upto 2 --connlimit-mask 8;-p tcp -m connlimit --connlimit-upto 2 --connlimit-mask 8 --connlimit-saddr;OK
@family 6
-p tcp -m connlimit --connlimit-above 2;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 128 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 64;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 64 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 128;-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 128 --connlimit-saddr;OK
-p tcp -m connlimit --connlimit-above 2 --connlimit-mask 129;;FAIL
-p tcp -m connlimit --connlimit-upto 2 --connlimit-daddr;-p tcp -m connlimit --connlimit-upto 2 --connlimit-mask 128 --connlimit-daddr;OK
