// Package bench holds nfgo's end-to-end benchmarks: chain traversal at
// 10 to 10k rules and the engine's whole path, each beside a baseline
// measured in the same run. Packet parsing benchmarks, with gopacket's
// DecodingLayerParser as their baseline, live beside the parser in
// package packet. See BENCHMARKS.md for the commands and figures.
package bench
