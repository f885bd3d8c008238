# recent match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
# This kernel takes a --hitcount up to 65535 (XT_RECENT_MAX_NSTAMPS 65536), where older ones stop at 255.
:INPUT,FORWARD,OUTPUT
@family 4
-m recent --set;-m recent --set --name DEFAULT --mask 255.255.255.255 --rsource;OK
-m recent --rcheck --hitcount 8 --name foo --mask 255.255.255.255 --rsource;=;OK
-m recent --rcheck --hitcount 12 --name foo --mask 255.255.255.255 --rsource;=;OK
-m recent --update --rttl;-m recent --update --rttl --name DEFAULT --mask 255.255.255.255 --rsource;OK
-m recent --set --rttl;;FAIL
-m recent --rcheck --hitcount 999 --name foo --mask 255.255.255.255 --rsource;=;OK
-m recent --rcheck --hitcount 65535;-m recent --rcheck --hitcount 65535 --name DEFAULT --mask 255.255.255.255 --rsource;OK
-m recent --rcheck --hitcount 65536;;FAIL
-m recent --rcheck --hitcount 3 --name foo --mask 255.255.255.255 --rsource -m recent --rcheck --hitcount 4 --name foo --mask 255.255.255.255 --rsource;=;OK
-m recent --rcheck --hitcount 8 --name foo --mask 255.255.255.255 --rsource -m recent --rcheck --hitcount 12 --name foo --mask 255.255.255.255 --rsource;=;OK
-m recent;;FAIL
-m recent --set --seconds 5;;FAIL
-m recent --remove --hitcount 3;;FAIL
-m recent --reap --rcheck;;FAIL
-m recent --rcheck --seconds 0;;FAIL
-m recent ! --rcheck --seconds 60 --reap --name ssh;-m recent ! --rcheck --seconds 60 --reap --name ssh --mask 255.255.255.255 --rsource;OK
-m recent --update --seconds 10 --reap --rttl --hitcount 3 --name a --rdest --rsource;-m recent --update --seconds 10 --reap --hitcount 3 --rttl --name a --mask 255.255.255.255 --rsource;OK
-m recent --update --hitcount 3 --seconds 4294967295;-m recent --update --seconds -1 --hitcount 3 --name DEFAULT --mask 255.255.255.255 --rsource;OK
-m recent ! --remove --name x;-m recent ! --remove --name x --mask 255.255.255.255 --rsource;OK
-m recent --set --rdest --mask 255.255.0.0 --name m16;-m recent --set --name m16 --mask 255.255.0.0 --rdest;OK
-m recent --set --mask 16 --name m32;-m recent --set --name m32 --mask 0.0.0.16 --rsource;OK
-m recent --set --mask 10.1 --name m33;-m recent --set --name m33 --mask 10.0.0.1 --rsource;OK
-m recent --set --set;;FAIL
-m recent --set --update;;FAIL
-m recent --rcheck --name "";;FAIL
-m recent --rcheck --name a/b;;FAIL
-m recent --rcheck --name .;;FAIL
-m recent --rcheck --name ..;;FAIL
-m recent --set --mask ::1;;FAIL
-m recent --set --seconds x;;FAIL
@family 6
-m recent --set;-m recent --set --name DEFAULT --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource;OK
-m recent --rcheck --seconds 30 --mask ffff:ffff:: --name v6;-m recent --rcheck --seconds 30 --name v6 --mask ffff:ffff:: --rsource;OK
-m recent --set --mask 255.0.0.0;;FAIL
