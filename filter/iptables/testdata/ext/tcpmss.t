# tcpmss match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-p tcp -m tcpmss --mss 1400;=;OK
-p tcp -m tcpmss ! --mss 1000:1500;=;OK
-p tcp -m tcpmss --mss 0:65535;=;OK
-p tcp -m tcpmss --mss 1000:;-p tcp -m tcpmss --mss 1000:65535;OK
-p tcp -m tcpmss;;FAIL
-p udp -m tcpmss --mss 5;;FAIL
-m tcpmss --mss 5;;FAIL
-p tcp -m tcpmss --mss 1500:1000;;FAIL
-p tcp -m tcpmss --mss 65536;;FAIL
