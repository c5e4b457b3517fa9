------------------------------ MODULE MCBroker ------------------------------
(***************************************************************************)
(* Model-checking wrapper of Broker.  Each MCBroker_*.cfg file assigns the *)
(* constants for one bound and names the invariants and properties to      *)
(* check; run TLC on this module with one of them:                         *)
(*                                                                         *)
(*   java -cp $IDEMCHECK_TLA2TOOLS tlc2.TLC -workers auto \                *)
(*        -config MCBroker_fixed_1x3.cfg MCBroker.tla                      *)
(*                                                                         *)
(* The Go model checker (internal/mc, `idemcheck mc`) reads the same      *)
(* files and must report the same verdicts and distinct-state counts.     *)
(* Terminal states (every call returned) are not deadlocks: the configs   *)
(* say CHECK_DEADLOCK FALSE.                                              *)
(***************************************************************************)
EXTENDS Broker

\* The variables are bounded: every step increases the progress measure
\* the Go twin checks (spec.State.Progress), so the state graph is finite
\* and acyclic and no state constraint is needed.
=============================================================================
