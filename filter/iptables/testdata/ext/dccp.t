# dccp and ipcomp matches: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:INPUT,FORWARD,OUTPUT
@family 46
-p dccp -m dccp --sport 1:1024 ! --dport 80 --dccp-types SYNC,ACK,REQUEST --dccp-option 2;-p dccp -m dccp --sport 1:1024 ! --dport 80 --dccp-types REQUEST,ACK,SYNC --dccp-option 2;OK
-p dccp -m dccp ! --dccp-types RESET;=;OK
-p dccp -m dccp --dccp-types INVALID;=;OK
-p dccp -m dccp --dccp-types FOO;;FAIL
-p dccp -m dccp ! --dccp-option 255;=;OK
-p dccp -m dccp --dccp-option 256;;FAIL
-p dccp -m dccp --dccp-option 0;;FAIL
-p dccp --dport 80;-p dccp -m dccp --dport 80;OK
-m dccp --dport 80;;FAIL
-p dccp -m dccp --sport 0:65535;=;OK
-p dccp -m dccp ! --sport 0:65535;=;OK
-p dccp -m dccp --dport 5:3;=;OK
-p dccp -m dccp --dccp-types REQUEST,RESPONSE,DATA,ACK,DATAACK,CLOSEREQ,CLOSE,RESET,SYNC,SYNCACK,INVALID;=;OK
-p dccp -m dccp --dccp-types request;-p dccp -m dccp --dccp-types REQUEST;OK
-p dccp -m dccp --sport 80 --sport 81;;FAIL
@family 4
-p ipcomp -m ipcomp --ipcompspi 18:0xff;-p ipcomp -m ipcomp --ipcompspi 18:255;OK
-p ipcomp -m ipcomp ! --ipcompspi 5;=;OK
-p ipcomp -m ipcomp --ipcompres;;FAIL
-m ipcomp --ipcompspi 5;;FAIL
-p ipcomp -m ipcomp;-p ipcomp -m ipcomp --ipcompspi 0;OK
-p ipcomp -m ipcomp --ipcompspi 0:4294967295;-p ipcomp -m ipcomp;OK
-p ipcomp -m ipcomp ! --ipcompspi 0:4294967295;-p ipcomp -m ipcomp;OK
-p ipcomp -m ipcomp --ipcompspi 5:3;=;OK
