# CT and NOTRACK: raw table only.
@family 46
*raw
:PREROUTING,OUTPUT
-j CT;=;OK
-j CT --notrack;=;OK
-j CT --zone 5;=;OK
-j CT --zone-orig 5;=;OK
-j CT --zone-reply 5;=;OK
-j CT --zone 65535;=;OK
-j CT --zone 0;-j CT;OK
-j CT --notrack --zone 1;=;OK
-j CT --ctevents new,related,destroy;=;OK
-j CT --ctevents related,new;-j CT --ctevents new,related;OK
-j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark;=;OK
-j CT --expevents new;=;OK
-j CT --zone-orig 5 --zone-reply 6;-j CT --zone 6;OK
-j CT --zone 5 --zone-orig 6;-j CT --zone-orig 6;OK
-j CT --zone-orig 5 --zone 6;-j CT --zone-orig 6;OK
-j CT --zone orig;;FAIL
-j CT --zone 65536;;FAIL
-j CT --ctevents new,foo;;FAIL
-j CT --expevents related;;FAIL
-j CT --notrack --notrack;;FAIL
-j NOTRACK;=;OK
-j NOTRACK --notrack;;FAIL
*mangle
:PREROUTING
-j CT --notrack;;FAIL
-j NOTRACK;;FAIL
*filter
:INPUT
-j CT;;FAIL
