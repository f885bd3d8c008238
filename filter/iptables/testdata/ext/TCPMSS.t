# TCPMSS: any table, -p tcp required; --clamp-mss-to-pmtu only from FORWARD, OUTPUT, POSTROUTING.
# iptables-nft does not require a SYN match (the kernel skips that check for nft_compat).
*mangle
:FORWARD,OUTPUT,POSTROUTING
-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu;-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu;OK
-p tcp --syn -j TCPMSS --set-mss 1400;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1400;OK
-p tcp -j TCPMSS --set-mss 1400;=;OK
-p tcp ! --syn -j TCPMSS --set-mss 1400;-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1400;OK
-p tcp --syn -j TCPMSS --set-mss 0;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 0;OK
-p tcp --syn -j TCPMSS --set-mss 65515;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 65515;OK
-p tcp --syn -j TCPMSS --set-mss 1 --clamp-mss-to-pmtu;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --clamp-mss-to-pmtu;OK
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu --set-mss 1;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1;OK
-p tcp --syn -j TCPMSS --set-mss 65516;;FAIL
-p tcp --syn -j TCPMSS;;FAIL
-j TCPMSS --set-mss 1400;;FAIL
! -p tcp -j TCPMSS --set-mss 1400;;FAIL
-p udp -j TCPMSS --set-mss 1400;;FAIL
-p tcp --syn -j TCPMSS --set-mss 1 --set-mss 2;;FAIL
:PREROUTING,INPUT
-p tcp --syn -j TCPMSS --set-mss 1000;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1000;OK
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu;;FAIL
*filter
:FORWARD,OUTPUT
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --clamp-mss-to-pmtu;OK
:INPUT
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu;;FAIL
@family 6
*mangle
:FORWARD
-p tcp --syn -j TCPMSS --set-mss 65495;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 65495;OK
-p tcp --syn -j TCPMSS --set-mss 65496;;FAIL
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu;-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --clamp-mss-to-pmtu;OK
