# rpfilter match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
@family 46
*raw
:PREROUTING
-m rpfilter;=;OK
-m rpfilter --invert --loose --accept-local --validmark;-m rpfilter --loose --validmark --accept-local --invert;OK
-m rpfilter --loose --loose;;FAIL
-m rpfilter ! --loose;;FAIL
-m rpfilter --invert -j DROP;=;OK
*mangle
:PREROUTING
-m rpfilter --invert;=;OK
:INPUT
-m rpfilter;;FAIL
*filter
:INPUT
-m rpfilter;;FAIL
