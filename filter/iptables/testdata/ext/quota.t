# quota match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m quota --quota 1000;=;OK
-m quota ! --quota 5;=;OK
-m quota --quota 0;=;OK
-m quota --quota 18446744073709551615;=;OK
-m quota;;FAIL
-m quota --quota -1;;FAIL
-m quota --quota 18446744073709551616;;FAIL
-m quota --quota 1 --quota 2;;FAIL
