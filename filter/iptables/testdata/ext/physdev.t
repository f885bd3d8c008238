# physdev match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
:INPUT,FORWARD
-m physdev --physdev-in eth0;=;OK
-m physdev ! --physdev-in br+;=;OK
-m physdev ! --physdev-out br+ --physdev-is-bridged;=;OK
-m physdev --physdev-is-in;=;OK
-m physdev ! --physdev-is-in;=;OK
-m physdev --physdev-is-bridged --physdev-in a --physdev-out b --physdev-is-in --physdev-is-out;-m physdev --physdev-is-in --physdev-in a --physdev-is-out --physdev-out b --physdev-is-bridged;OK
-m physdev --physdev-in 0123456789abcde;=;OK
-m physdev --physdev-in 0123456789abcdef;;FAIL
-m physdev --physdev-in eth0 --physdev-in eth1;;FAIL
-m physdev;;FAIL
:OUTPUT
-m physdev --physdev-in eth0;=;OK
-m physdev --physdev-out br0;;FAIL
-m physdev --physdev-is-out;;FAIL
-m physdev --physdev-out br0 --physdev-is-bridged;=;OK
-m physdev --physdev-out br0 ! --physdev-is-bridged;;FAIL
