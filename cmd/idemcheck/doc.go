// Command idemcheck checks idempotent-producer histories of Kafka-compatible
// brokers.
//
// Usage:
//
//	idemcheck demo                       reproduce and check the seed bug
//	idemcheck check [flags] FILE...      black-box check (porcupine)
//	idemcheck validate FILE              white-box check against the Go spec
//	idemcheck mc [flags] CFG             model-check the spec
//	idemcheck gen [flags]                generate a synthetic history
//	idemcheck record|import|broker       Kafka traffic (see README.md)
//
// Exit codes: 0 every history is Ok; 1 a violation was found; 2 unusable
// input or bad usage; 3 undecided (a part hit a limit, such as the
// --timeout, which the output names as the part's reason; never a pass).
package main
