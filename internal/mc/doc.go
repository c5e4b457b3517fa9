// Package mc is an explicit-state model checker for the Go spec
// (package spec): a breadth-first search over [spec.Enabled] and
// [spec.Step], so the first violation found has a shortest trace.
//
// States are identified by 64-bit FNV-1a fingerprints of their canonical
// encoding ([spec.State.AppendBinary]). Each BFS level is split among
// worker goroutines that compute successors, fingerprints and invariant
// checks in parallel; the results are merged in frontier order, so runs
// are deterministic whatever the number of workers.
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
// A violation comes with its shortest trace ([Violation.WriteTrace]),
// can be exported as a history file ([Violation.History]) and drawn as
// a Mermaid sequence diagram ([SequenceDiagram]).
package mc
