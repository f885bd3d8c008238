# set match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 4
-m set --match-set foo src;;FAIL
-m set ! --match-set foo src,dst;;FAIL
-m set --match-set foo;;FAIL
