# cpu match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m cpu --cpu 1;=;OK
-m cpu ! --cpu 0;=;OK
-m cpu --cpu 4294967295;=;OK
-m cpu;;FAIL
-m cpu --cpu -1;;FAIL
-m cpu --cpu 4294967296;;FAIL
-m cpu --cpu 1 --cpu 2;;FAIL
