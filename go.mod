module github.com/nfgo/nfgo

go 1.26.0

require (
	github.com/gopacket/gopacket v1.5.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	golang.org/x/net v0.39.0 // indirect
)
