# CONNSECMARK and SECMARK targets: checked with iptables 1.8.9 (nf_tables) on kernel 6.18 (no SELinux), iptables-restore +
# iptables-save in a netns. Such a kernel refuses every SECMARK rule (ENOENT: no security module maps the context), as nfgo does.
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
*mangle
@family 46
-j CONNSECMARK --save;=;OK
-j CONNSECMARK --restore;=;OK
-j CONNSECMARK;;FAIL
-j CONNSECMARK --save --restore;;FAIL
-j CONNSECMARK --save --save;;FAIL
-j CONNSECMARK ! --save;;FAIL
-j SECMARK --selctx system_u:object_r:ssh_packet_t:s0;;FAIL
-j SECMARK;;FAIL
:INPUT,FORWARD,OUTPUT
*security
-j CONNSECMARK --restore;=;OK
-j SECMARK --selctx system_u:object_r:firewalld_exec_t:s0;;FAIL
:INPUT
*filter
-j CONNSECMARK --save;;FAIL
-j SECMARK --selctx foo;;FAIL
*raw
:OUTPUT
-j CONNSECMARK --save;;FAIL
