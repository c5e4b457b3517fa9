// Package mc is an explicit-state model checker for the Go spec
// (package spec): a breadth-first search over [spec.Enabled] and
// [spec.Step], so the first violation found has a shortest trace.
//
// States are identified by 64-bit fingerprints (a wyhash-style hash) of
// their canonical encoding ([spec.State.AppendBinary]), and kept in that
// encoding: a BFS level is one byte arena, and the seen set is an
// open-addressing table of fingerprints (each with the fingerprint of
// its BFS parent, for traces), so the search allocates nothing per state
// and the garbage collector has no pointers to scan. Each level is split
// into chunks that worker goroutines take in turn; a worker decodes a
// state into a scratch [spec.State] ([spec.State.UnmarshalBinary]),
// computes its successors, fingerprints and invariant checks, and keeps
// the encodings of the successors not seen in earlier levels. The chunks
// are merged in frontier order, so counts, verdicts and traces are the
// same whatever the number of workers.
//
// Models come from the same .cfg files as TLC ([LoadConfig]): the
// constants of spec/tla/Broker.tla, the invariants and the liveness
// property EveryCallReturns. Liveness is checked as follows: every step
// must increase [spec.State.Progress] (so the state graph has no cycles
// and every behaviour ends in a state from which it can only stutter),
// and no reachable state may have an open call while no fair action
// ([spec.Action.Fair]) is enabled. Under weak fairness of the broker's
// own steps that is exactly EveryCallReturns.
//
// A violation comes with its shortest trace ([Violation.WriteTrace]) and
// its behaviour run to the end ([Violation.Behavior]), which callers turn
// into a history (history.FromActions): the package imports spec alone,
// so `idemcheck mc` writes the history and draws the sequence diagram.
package mc
