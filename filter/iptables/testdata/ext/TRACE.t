# TRACE: iptables-nft makes it a native nftrace statement, valid in any table.
@family 46
*raw
:PREROUTING,OUTPUT
-j TRACE;=;OK
-j TRACE --foo;;FAIL
*mangle
:PREROUTING
-j TRACE;=;OK
*filter
:INPUT,FORWARD
-j TRACE;=;OK
