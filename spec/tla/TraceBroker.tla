---------------------------- MODULE TraceBroker ----------------------------
(***************************************************************************)
(* Trace validation of a recorded history against Broker, in the style of  *)
(* etcd-io/raft's Traceetcdraft.tla: a Trace spec whose next-state         *)
(* relation may only take the Broker action that the next line of the      *)
(* history names, with the values that line records.  If TLC cannot        *)
(* consume the whole history, TraceMatched is violated and TLC's trace     *)
(* ends at the first event Broker does not allow.                          *)
(*                                                                         *)
(* The history is an idemcheck/v1 JSON Lines file (the header line is      *)
(* skipped: it has no "kind").  One partition is validated at a time:      *)
(*                                                                         *)
(*   JSON=history.jsonl PARTITION=p0 java \                                *)
(*     -cp $IDEMCHECK_TLA2TOOLS:$IDEMCHECK_COMMUNITY_MODULES \             *)
(*     tlc2.TLC -workers 1 -config TraceBroker.cfg TraceBroker.tla         *)
(*                                                                         *)
(* (the CommunityModules jar holds Json and IOUtils).  internal/agreement  *)
(* TestTraceBrokerAgreesWithValidate runs this on every corpus trace.      *)
(*                                                                         *)
(* Restrictions compared with the Go validator (idemcheck validate):       *)
(* producer ids must be 1..Producers (TraceBroker.cfg) and the bounds of   *)
(* TraceBroker.cfg must be large enough for the history.                   *)
(***************************************************************************)
EXTENDS Broker, Json, IOUtils, Sequences, TLC

ASSUME TLCGet("config").mode = "bfs"

JsonFile == IF "JSON" \in DOMAIN IOEnv THEN IOEnv.JSON ELSE "../testdata/seed-after-stage.jsonl"
Partition == IF "PARTITION" \in DOMAIN IOEnv THEN IOEnv.PARTITION ELSE "p0"

Events == SelectSeq(ndJsonDeserialize(JsonFile), LAMBDA x : "kind" \in DOMAIN x)

\* Op ids called on the validated partition, in call order.
CallIds == TLCEval(LET calls == SelectSeq(Events, LAMBDA x : x.kind = "Replicate" /\ x.partition = Partition)
                   IN [i \in DOMAIN calls |-> calls[i].op])

Mine(x) ==
    CASE x.kind \in {"Replicate", "EvictProducer", "ChangeTerm"} -> x.partition = Partition
      [] x.kind = "BumpEpoch" -> TRUE
      [] OTHER -> \E i \in DOMAIN CallIds : CallIds[i] = x.op

TraceLog == TLCEval(SelectSeq(Events, Mine))

\* Broker numbers calls 1, 2, ... in call order.
OpOf(id) == CHOOSE i \in DOMAIN CallIds : CallIds[i] = id

VARIABLE l

traceVars == <<vars, l>>

logline == TraceLog[l]

IsEvent(k) == l <= Len(TraceLog) /\ logline.kind = k

Advance == l' = l + 1

Ok(r) == r = "ok"

TraceReplicate ==
    /\ IsEvent("Replicate")
    /\ ReplicateBatch(logline.pid, logline.epoch, logline.first, logline.last)
    /\ Advance

TraceReserveTicket == IsEvent("ReserveTicket") /\ ReserveTicket(OpOf(logline.op)) /\ Advance
TraceStageWriteStart == IsEvent("StageWriteStart") /\ StageWriteStart(OpOf(logline.op)) /\ Advance
\* A RedeemTicket with result error is a call aborted while it waited.
Aborted == "result" \in DOMAIN logline /\ logline.result = "error"
TraceRedeemTicket ==
    /\ IsEvent("RedeemTicket")
    /\ IF Aborted THEN AbortRedeem(OpOf(logline.op)) ELSE RedeemAtHead(OpOf(logline.op))
    /\ Advance
TraceReleaseTicket == IsEvent("ReleaseTicket") /\ ReleaseTicket(OpOf(logline.op)) /\ Advance

TraceStageWriteDone ==
    /\ IsEvent("StageWriteDone")
    /\ StageWriteDone(OpOf(logline.op))
    /\ (ops'[OpOf(logline.op)].phase = "staged") = Ok(logline.result)
    /\ Advance

TraceUploadDone ==
    /\ IsEvent("UploadDone")
    /\ UploadDone(OpOf(logline.op))
    /\ (ops'[OpOf(logline.op)].phase = "uploaded") = Ok(logline.result)
    /\ Advance

TraceFenceEpoch ==
    /\ IsEvent("FenceEpoch")
    /\ FenceEpoch(OpOf(logline.op))
    /\ (ops'[OpOf(logline.op)].phase = "fenced") = Ok(logline.result)
    /\ Advance

\* The recorded decision must be the one Broker computes
\* (duplicate_inflight counts as duplicate: Broker has no separate
\* in-flight stage inside rm_stm), and a recorded append may skip offsets.
TraceDecide ==
    LET o == OpOf(logline.op)
        d == IF logline.decision = "duplicate_inflight" THEN "duplicate" ELSE logline.decision
    IN /\ IsEvent("Decide")
       /\ DecideAt(o, IF d \in Appends THEN logline.offset ELSE DecisionOffset(o))
       /\ ops'[o].decision = d
       /\ d \in WithOffset => ops'[o].offset = logline.offset
       /\ Advance

TraceReturn ==
    LET o == OpOf(logline.op) IN
    /\ IsEvent("Return")
    /\ IF logline.result = "unknown"
       THEN ReturnUnknown(o)
       ELSE /\ ReturnResult(o)
            /\ Outcome(o).res = logline.result
            /\ logline.result = "ok" => Outcome(o).offset = logline.offset
            /\ logline.result = "error" =>
                  \/ Outcome(o).code = logline.error
                  \/ ops[o].phase = "failed" /\ logline.error = NotLeaderForPartition
    /\ Advance

TraceEvictProducer == IsEvent("EvictProducer") /\ EvictProducer(logline.pid) /\ Advance

TraceBumpEpoch == IsEvent("BumpEpoch") /\ BumpEpoch(logline.pid, logline.epoch) /\ Advance

TraceChangeTerm == IsEvent("ChangeTerm") /\ ChangeTerm(logline.term) /\ Advance

TraceInit == l = 1 /\ Init

TraceNext ==
    \/ TraceReplicate
    \/ TraceReserveTicket
    \/ TraceStageWriteStart
    \/ TraceStageWriteDone
    \/ TraceUploadDone
    \/ TraceRedeemTicket
    \/ TraceFenceEpoch
    \/ TraceDecide
    \/ TraceReleaseTicket
    \/ TraceReturn
    \/ TraceEvictProducer
    \/ TraceBumpEpoch
    \/ TraceChangeTerm

TraceSpec == TraceInit /\ [][TraceNext]_traceVars

\* The property below is violated if TLC runs with more than one worker.
ASSUME TLCGet("config").worker = 1

\* TLC checks temporal properties after generating all successors of a
\* state: if the queue is empty and the history is not consumed, the
\* history is not a behaviour of Broker.
TraceMatched ==
    [](l <= Len(TraceLog) => [](TLCGet("queue") > 0 \/ l > Len(TraceLog)))

\* The invariants of Broker are checked along the history too (see
\* TraceBroker.cfg).
=============================================================================
