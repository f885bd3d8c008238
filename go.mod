module github.com/nfgo/nfgo

go 1.26.0

require (
	github.com/gopacket/gopacket v1.5.0
	golang.org/x/sys v0.50.0
)

require golang.org/x/net v0.39.0 // indirect
