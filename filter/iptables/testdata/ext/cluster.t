# cluster match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 0xdeadbeef;-m cluster --cluster-local-nodemask 0x00000001 --cluster-total-nodes 2 --cluster-hash-seed 0xdeadbeef;OK
-m cluster --cluster-total-nodes 4 ! --cluster-local-node 2 --cluster-hash-seed 1;-m cluster ! --cluster-local-nodemask 0x00000002 --cluster-total-nodes 4 --cluster-hash-seed 0x00000001;OK
-m cluster --cluster-total-nodes 4 --cluster-local-nodemask 5 --cluster-hash-seed 7;-m cluster --cluster-local-nodemask 0x00000005 --cluster-total-nodes 4 --cluster-hash-seed 0x00000007;OK
-m cluster --cluster-total-nodes 4 --cluster-local-nodemask 5 ! --cluster-hash-seed 1;;FAIL
-m cluster --cluster-total-nodes 4 ! --cluster-local-node 2;;FAIL
-m cluster --cluster-total-nodes 33 --cluster-local-node 1 --cluster-hash-seed 1;;FAIL
-m cluster --cluster-total-nodes 2 --cluster-local-node 3 --cluster-hash-seed 1;;FAIL
-m cluster --cluster-local-node 1 --cluster-hash-seed 1;;FAIL
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-local-nodemask 1 --cluster-hash-seed 1;;FAIL
-m cluster --cluster-total-nodes 2 --cluster-local-nodemask 4 --cluster-hash-seed 7;;FAIL
-m cluster --cluster-total-nodes 2 --cluster-local-node 0 --cluster-hash-seed 7;;FAIL
