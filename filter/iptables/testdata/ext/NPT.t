# SNPT and DNPT targets: checked with ip6tables 1.8.9 (nf_tables) on kernel 6.18, ip6tables-restore + ip6tables-save in a netns.
@family 6
*mangle
:POSTROUTING
-j SNPT --src-pfx fd00:1::/64 --dst-pfx 2001:db8:1::/64;=;OK
-j SNPT --src-pfx fd00:1::/48 --dst-pfx 2001:db8:1:2::/64;=;OK
-j SNPT --src-pfx fd00::/8 --dst-pfx 2000::/8;=;OK
-j SNPT --src-pfx fd00:1::1/64 --dst-pfx 2001:db8:1::/64;;FAIL
-j SNPT --src-pfx fd00:1::/65 --dst-pfx 2001:db8:1::/65;;FAIL
-j SNPT --src-pfx fd00:1::/64;;FAIL
-j SNPT --dst-pfx fd00:1::/64;;FAIL
-j SNPT --src-pfx fd00:1:: --dst-pfx 2001:db8::;;FAIL
-j DNPT --src-pfx fd00:1::/64 --dst-pfx 2001:db8:1::/64;;FAIL
:PREROUTING
-j DNPT --src-pfx 2001:db8:1::/64 --dst-pfx fd00:1::/64;=;OK
-j SNPT --src-pfx fd00:1::/64 --dst-pfx 2001:db8:1::/64;;FAIL
*filter
:INPUT
-j SNPT --src-pfx fd00:1::/64 --dst-pfx 2001:db8:1::/64;;FAIL
