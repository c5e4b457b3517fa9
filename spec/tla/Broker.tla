------------------------------- MODULE Broker -------------------------------
(***************************************************************************)
(* One partition of Redpanda's cloud-topics produce path, as far as the    *)
(* idempotent producer is concerned (redpanda PR #30429 and the bugs       *)
(* around it).                                                             *)
(*                                                                         *)
(* A producer (the Kafka client) calls replicate() for each record batch   *)
(* of its sequence.  Inside the broker every call goes through             *)
(*                                                                         *)
(*   Replicate -> ReserveTicket -> StageWriteStart -> StageWriteDone       *)
(*     -> UploadDone -> RedeemTicket -> FenceEpoch -> Decide               *)
(*     -> ReleaseTicket -> Return                                          *)
(*                                                                         *)
(* stage_write and the L0 upload are asynchronous and complete in any      *)
(* order; the per-producer ticket queue (producer_queue) is what restores  *)
(* the call order before rm_stm decides.  With TicketOrder = "after-stage" *)
(* (the code before the fix) the ticket is reserved only when stage_write  *)
(* resolves, so a later call can take an earlier ticket.                   *)
(*                                                                         *)
(* The action names are the event kinds of the project's histories and     *)
(* the action names of the Go twin (package spec); a Go test keeps the     *)
(* three sets equal.  The Go twin has the same variables (spec.State) so   *)
(* that TLC and the Go model checker count the same distinct states.       *)
(***************************************************************************)
EXTENDS Naturals, Integers, Sequences, FiniteSets

CONSTANTS
    TicketOrder,     \* "before-stage" (the fix) or "after-stage" (pre-fix)
    Producers,       \* producer ids are 1..Producers
    Batches,         \* new batches each producer sends; batch i of an epoch has sequences [i,i]
    KnownProducers,  \* TRUE: rm_stm knows every producer at the start (empty window)
    StageFailure,    \* stage_write may fail
    UploadFailure,   \* the L0 upload may fail
    FenceFailure,    \* fence_epoch may fail
    ClientTimeout,   \* the client may give up on a call (Return "unknown")
    MaxRetries,      \* retries per producer (0: off)
    MaxEvictions,    \* EvictProducer steps (0: off)
    MaxEpochBumps,   \* BumpEpoch steps (0: off)
    MaxTermChanges,  \* ChangeTerm steps (0: off)
    Window,          \* finished requests rm_stm remembers per producer (WindowSize)
    MaxSeq,          \* the highest sequence number, 0 follows it (INT32_MAX in
                     \* Kafka; a config may make it small to reach the wrap)
    AwaitEnqueued,   \* TRUE: a producer's next call waits until its previous
                     \* calls have their tickets (request_enqueued) or failed
    OldEpochRetry,   \* TRUE: the client may retry a call of an older epoch,
                     \* unchanged (rm_stm does not fence old epochs)
    RedeemAbort,     \* TRUE: a call waiting in redeem may be aborted
    TieredPath,      \* TRUE: a call may take the tiered path as before PR #31106
                     \* (no ticket, no staging: decided inside replicate())
    Bug              \* "none" or an injected bug: "release-before-decide",
                     \* "dup-latest-offset", "leak-ticket"

ASSUME TicketOrder \in {"before-stage", "after-stage"}
ASSUME Bug \in {"none", "release-before-decide", "dup-latest-offset", "leak-ticket"}
ASSUME Window >= 1
ASSUME AwaitEnqueued \in BOOLEAN
ASSUME OldEpochRetry \in BOOLEAN
ASSUME RedeemAbort \in BOOLEAN
ASSUME TieredPath \in BOOLEAN
ASSUME MaxSeq \in 1..2147483647

MaxInt32 == 2147483647

\* The partition's idempotency window: Redpanda's requests_cached_max, the
\* value the configs give Window (spec.WindowSize; a Go test keeps them equal).
WindowSize == 5

\* The Kafka error codes a call returns with (spec.ErrorCode; a Go test
\* keeps the numbers equal).
NotLeaderForPartition == 6
RequestTimedOut == 7
InvalidRequestCode == 42
OutOfOrderSequenceNumber == 45

\* The records of a batch with sequences [f, l] (spec.RecordCount): an
\* append takes that many consecutive offsets from its base offset.
RecordCount(f, l) == IF l >= f THEN l - f + 1 ELSE (MaxSeq - f + 1) + (l + 1)

Pids == 1..Producers
MaxOps == Producers * (Batches + MaxRetries)
Max(a, b) == IF a >= b THEN a ELSE b

Appends == {"append", "append_unknown"}
WithOffset == {"append", "append_unknown", "duplicate", "duplicate_inflight"}

VARIABLES
    term,        \* the partition's raft term
    nextOffset,  \* the base offset the next append takes (one offset per record)
    lastOp,      \* the highest op id called (op ids are 1..lastOp, in call order)
    sync,        \* the op inside a synchronous step sequence (its replicate()
                 \* prologue, or the after-stage continuation of stage_write), 0 if none
    env,         \* [evictions, epochBumps, termChanges]: environment budget used
    client,      \* client[p]: [epoch, nextSeq, sent, retries]
    rm,          \* rm[p]: rm_stm's idempotency state [known, epoch, window]
    queue,       \* queue[p]: op ids holding a ticket, in reservation order
    hist,        \* hist[p]: history summaries the invariants read (see below)
    ops,         \* ops[o]: the state of call o
    log          \* the appended batches with their base offsets, in offset order

vars == <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, ops, log>>

(* hist[p] holds the sequences appended in p's latest appended epoch:     *)
(* every sequence below prefix, and the ranges in above (has = FALSE until *)
(* the first append).  It is a summary of the log, which the Go twin's     *)
(* long replays trim; NoSpuriousOutOfOrder's flag is computed from it.    *)

NoHist == [has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]

Init ==
    /\ term = 0
    /\ nextOffset = 0
    /\ lastOp = 0
    /\ sync = 0
    /\ env = [evictions |-> 0, epochBumps |-> 0, termChanges |-> 0]
    /\ client = [p \in Pids |-> [epoch |-> 0, nextSeq |-> 0, sent |-> 0, retries |-> 0]]
    /\ rm = [p \in Pids |-> [known |-> KnownProducers, epoch |-> 0, window |-> << >>]]
    /\ queue = [p \in Pids |-> << >>]
    /\ hist = [p \in Pids |-> NoHist]
    /\ ops = << >>
    /\ log = << >>

-----------------------------------------------------------------------------
(* Helpers *)

Ops == DOMAIN ops
Holds(o) == ops[o].reserved /\ ~ops[o].released
Leak(o) == ops[o].phase = "failed" /\ Bug = "leak-ticket"
Remove(s, x) == SelectSeq(s, LAMBDA y : y # x)
SetOp(o, r) == ops' = [ops EXCEPT ![o] = r]
Free == sync = 0   \* no replicate() prologue is running

\* The Return a finished call owes its client.
Outcome(o) ==
    IF ops[o].phase = "failed" THEN [res |-> "error", code |-> RequestTimedOut, offset |-> 0]
    ELSE IF ops[o].decision \in WithOffset THEN [res |-> "ok", code |-> 0, offset |-> ops[o].offset]
    ELSE IF ops[o].decision = "invalid_request" THEN [res |-> "error", code |-> InvalidRequestCode, offset |-> 0]
    ELSE [res |-> "error", code |-> OutOfOrderSequenceNumber, offset |-> 0]

(* rm_stm's decision (spec.Classify, Redpanda's rules): reset on a higher  *)
(* epoch, the skip path for an unknown producer with first > 0, the exact  *)
(* duplicate match in the window (epoch ignored), then the sequence check. *)
EffWindow(o) ==
    LET p == ops[o].pid IN
    IF rm[p].known /\ ops[o].epoch <= rm[p].epoch THEN rm[p].window ELSE << >>

DupIdx(o) ==
    LET w == EffWindow(o) IN
    {i \in DOMAIN w : w[i].first = ops[o].first /\ w[i].last = ops[o].last}

Decision(o) ==
    LET w == EffWindow(o)
        op == ops[o]
    IN CASE op.first > op.last -> "invalid_request"
         [] ~rm[op.pid].known /\ op.first > 0 -> "append_unknown"
         [] DupIdx(o) # {} -> "duplicate"
         [] w = << >> -> IF op.first = 0 THEN "append" ELSE "out_of_order"
         \* (the wrap first: TLC's integers stop at MaxInt32, so last + 1 is
         \* evaluated only below it)
         [] IF w[Len(w)].last = MaxSeq THEN op.first = 0 ELSE w[Len(w)].last + 1 = op.first -> "append"
         [] OTHER -> "out_of_order"

DecisionOffset(o) ==
    LET w == EffWindow(o)
        d == Decision(o)
    IN IF d \in Appends THEN nextOffset
       ELSE IF d = "duplicate"
            THEN IF Bug = "dup-latest-offset" THEN w[Len(w)].offset
                 ELSE LET i == CHOOSE i \in DupIdx(o) : \A j \in DupIdx(o) : j <= i IN w[i].offset
       ELSE 0

\* rm_stm's state for o's producer after deciding d at offset off.
NewRM(o, d, off) ==
    LET p == ops[o].pid
        r0 == IF ~rm[p].known \/ ops[o].epoch > rm[p].epoch
              THEN [known |-> TRUE, epoch |-> ops[o].epoch, window |-> << >>]
              ELSE rm[p]
        r1 == IF d = "append_unknown" THEN [r0 EXCEPT !.window = << >>] ELSE r0
        req == [epoch |-> ops[o].epoch, first |-> ops[o].first, last |-> ops[o].last, offset |-> off]
        full == IF Len(r1.window) >= Window
                THEN SubSeq(r1.window, Len(r1.window) - Window + 2, Len(r1.window))
                ELSE r1.window
    IN IF d \in Appends THEN [r1 EXCEPT !.window = Append(full, req)] ELSE r1

(* The appended-sequence summary. *)
Overlaps(h, f, l) == f < h.prefix \/ \E r \in h.above : f <= r[2] /\ r[1] <= l

\* o is next in its producer's sequence: every earlier sequence of its
\* epoch is in the log and its own are not.
NextInSequence(o) ==
    LET h == hist[ops[o].pid]
        op == ops[o]
    IN IF ~h.has \/ op.epoch > h.epoch THEN op.first = 0
       ELSE IF op.epoch < h.epoch THEN FALSE
       ELSE op.first = h.prefix /\ ~Overlaps(h, op.first, op.last)

\* Every sequence of o's batch is in the log, in o's epoch (read from the
\* log itself; the Go twin reads its appended-sequence summary).  A batch
\* whose range wraps past INT32_MAX counts as not in the log.
InLog(o) ==
    LET op == ops[o] IN
    /\ op.first <= op.last
    /\ \A s \in op.first..op.last :
          \E i \in DOMAIN log : /\ log[i].pid = op.pid /\ log[i].epoch = op.epoch
                              /\ log[i].first <= s /\ s <= log[i].last

RECURSIVE Absorb(_, _)
Absorb(pre, ab) ==
    IF \E r \in ab : r[1] <= pre
    THEN LET r == CHOOSE r \in ab : r[1] <= pre IN Absorb(Max(pre, r[2] + 1), ab \ {r})
    ELSE <<pre, ab>>

\* The summary after an append of o (an older epoch leaves it alone).
AppendHist(h, op) ==
    IF h.has /\ op.epoch < h.epoch THEN h
    ELSE LET reset == ~h.has \/ op.epoch > h.epoch \/ (h.maxLast = MaxSeq /\ op.first = 0)
             b == IF reset THEN [h EXCEPT !.has = TRUE, !.epoch = op.epoch, !.maxLast = -1,
                                          !.prefix = 0, !.above = {}]
                  ELSE h
             into == op.first <= b.prefix
             pa == Absorb(IF into THEN Max(b.prefix, op.last + 1) ELSE b.prefix,
                          IF into THEN b.above ELSE b.above \cup {<<op.first, op.last>>})
         IN [b EXCEPT !.maxLast = Max(b.maxLast, op.last), !.prefix = pa[1], !.above = pa[2]]

-----------------------------------------------------------------------------
(* Actions of one call.  Each is named after the event kind it records.    *)

\* The client calls replicate(pid, epoch, [f, l]) (any batch: the bounded
\* model's choice is in Replicate below; TraceBroker uses this directly).
\* A call in a higher epoch than the client's moves the client to it, as
\* BumpEpoch would (the bounded model never makes one).
ReplicateBatch(p, e, f, l) ==
    LET c == IF e > client[p].epoch THEN [client[p] EXCEPT !.epoch = e, !.nextSeq = 0] ELSE client[p]
        new == e = c.epoch /\ f = c.nextSeq
        same(x) == ops[x].pid = p /\ ops[x].epoch = e /\ ops[x].first = f /\ ops[x].last = l
        match == {x \in Ops : same(x)}
        latest == CHOOSE x \in match : \A y \in match : y <= x
        o == lastOp + 1
        rec == [pid |-> p, epoch |-> e, first |-> f, last |-> l, phase |-> "called",
                reserved |-> FALSE, released |-> FALSE, returned |-> "no", retried |-> FALSE,
                term |-> 0, decision |-> "none", offset |-> 0, flags |-> {}]
        old == IF ~new /\ match # {} THEN [ops EXCEPT ![latest].retried = TRUE] ELSE ops
    IN /\ Free
       /\ client' = [client EXCEPT ![p] =
             IF new THEN [c EXCEPT !.sent = @ + 1, !.nextSeq = IF l < MaxSeq THEN l + 1 ELSE 0]
             ELSE [c EXCEPT !.retries = @ + 1]]
       /\ ops' = Append(old, rec)
       /\ lastOp' = o
       /\ sync' = o
       /\ UNCHANGED <<term, nextOffset, env, rm, queue, hist, log>>

\* Replicate: a new batch, or a retry of a call that failed or timed out
\* (of the client's epoch, or of any with OldEpochRetry).
\* Enqueued(p): every call of p holds or held its ticket, or failed before
\* it could reserve one (what a caller awaiting request_enqueued waits for).
Enqueued(p) == \A o \in Ops : ops[o].pid = p => ops[o].reserved \/ ops[o].phase = "failed"

Replicate(p) ==
    /\ AwaitEnqueued => Enqueued(p)
    /\ \/ /\ client[p].sent < Batches
          /\ ReplicateBatch(p, client[p].epoch, client[p].nextSeq, client[p].nextSeq)
       \/ /\ client[p].retries < MaxRetries
          /\ \E o \in Ops :
               /\ ops[o].pid = p /\ ~ops[o].retried
               /\ OldEpochRetry \/ ops[o].epoch = client[p].epoch
               /\ ops[o].returned # "no"
               /\ ~(ops[o].returned = "yes" /\ Outcome(o).res = "ok")
               /\ ReplicateBatch(p, ops[o].epoch, ops[o].first, ops[o].last)

\* ReserveTicket: inside replicate() (before-stage) or when stage_write
\* resolves (after-stage).
ReserveTicket(o) ==
    LET p == ops[o].pid IN
    /\ sync \in {0, o}
    /\ ~ops[o].reserved
    /\ ops[o].phase = IF TicketOrder = "before-stage" THEN "called" ELSE "staged"
    /\ queue' = [queue EXCEPT ![p] = Append(@, o)]
    /\ SetOp(o, [ops[o] EXCEPT !.reserved = TRUE])
    /\ sync' = IF ops[o].phase = "staged" THEN 0 ELSE sync
    /\ UNCHANGED <<term, nextOffset, lastOp, env, client, rm, hist, log>>

StageWriteStart(o) ==
    /\ sync = o
    /\ ops[o].phase = "called"
    /\ TicketOrder = "before-stage" => ops[o].reserved
    /\ SetOp(o, [ops[o] EXCEPT !.phase = "staging"])
    /\ sync' = 0
    /\ UNCHANGED <<term, nextOffset, lastOp, env, client, rm, queue, hist, log>>

\* In the after-stage ordering the continuation of a successful
\* stage_write reserves the ticket at once (sync).
StageWriteDone(o) ==
    /\ Free
    /\ ops[o].phase = "staging"
    /\ \E ok \in IF StageFailure THEN BOOLEAN ELSE {TRUE} :
          /\ SetOp(o, [ops[o] EXCEPT !.phase = IF ok THEN "staged" ELSE "failed"])
          /\ sync' = IF ok /\ TicketOrder = "after-stage" THEN o ELSE 0
    /\ UNCHANGED <<term, nextOffset, lastOp, env, client, rm, queue, hist, log>>

UploadDone(o) ==
    /\ Free
    /\ ops[o].phase = "staged"
    /\ ops[o].reserved
    /\ \E ok \in IF UploadFailure THEN BOOLEAN ELSE {TRUE} :
          SetOp(o, [ops[o] EXCEPT !.phase = IF ok THEN "uploaded" ELSE "failed"])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

\* The ticket is the head of its producer's queue (the fair part of
\* RedeemTicket).
RedeemAtHead(o) ==
    /\ Free
    /\ ops[o].phase = "uploaded"
    /\ Holds(o)
    /\ Head(queue[ops[o].pid]) = o
    /\ SetOp(o, [ops[o] EXCEPT !.phase = "redeemed"])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

\* AbortRedeem: the call is aborted while it waits in redeem (the abort
\* source of redeem(as) fires: a client disconnect, a shutdown).  The call
\* fails and releases its ticket like any failed call (ReleaseTicket), so
\* its successor may become the head and overtake it.  Recorded as
\* RedeemTicket with result error.  Not one of the broker's fair steps:
\* the abort comes from outside.
AbortRedeem(o) ==
    /\ Free
    /\ RedeemAbort
    /\ ops[o].phase = "uploaded"
    /\ Holds(o)
    /\ SetOp(o, [ops[o] EXCEPT !.phase = "failed"])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

\* RedeemTicket: redeem resolves at the head of the queue, or is aborted.
RedeemTicket(o) == RedeemAtHead(o) \/ AbortRedeem(o)

FenceEpoch(o) ==
    /\ Free
    /\ ops[o].phase = "redeemed"
    /\ \E ok \in IF FenceFailure THEN BOOLEAN ELSE {TRUE} :
          SetOp(o, [ops[o] EXCEPT !.phase = IF ok THEN "fenced" ELSE "failed", !.term = term])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

\* o, inside its replicate() prologue, takes the tiered path (TieredPath):
\* no ticket, no staging; rm_stm decides it at once.
Tiered(o) == TieredPath /\ sync = o /\ ops[o].phase = "called" /\ ~ops[o].reserved

\* DecideAt: rm_stm decides o in the term of the fence, answering at base
\* offset off: an append takes off and one offset per record from it, at
\* or above the log's next offset (a recorded history may skip offsets,
\* never go back: spec.Step's rule), a duplicate the original's offset; or
\* o on the tiered path, at once.
DecideAt(o, off) ==
    LET p == ops[o].pid
        d == Decision(o)
        flags == ops[o].flags
                 \cup (IF d = "out_of_order" /\ NextInSequence(o) THEN {"NoSpuriousOutOfOrder"} ELSE {})
                 \cup (IF d = "out_of_order" /\ InLog(o) THEN {"LoggedBatchNotOutOfOrder"} ELSE {})
        tiered == Tiered(o)
    IN
    /\ \/ tiered
       \/ /\ Free
          /\ ops[o].phase = "fenced"
          /\ ~ops[o].released \/ Bug = "release-before-decide"
          /\ ops[o].term = term
    /\ IF d \in Appends THEN off >= nextOffset ELSE off = DecisionOffset(o)
    /\ SetOp(o, [ops[o] EXCEPT !.phase = "decided", !.decision = d, !.offset = off, !.flags = flags])
    /\ rm' = [rm EXCEPT ![p] = NewRM(o, d, off)]
    /\ hist' = IF d \in Appends THEN [hist EXCEPT ![p] = AppendHist(@, ops[o])] ELSE hist
    /\ IF d \in Appends
       THEN /\ log' = Append(log, [offset |-> off, pid |-> p, epoch |-> ops[o].epoch,
                                   first |-> ops[o].first, last |-> ops[o].last])
            /\ nextOffset' = off + RecordCount(ops[o].first, ops[o].last)
       ELSE UNCHANGED <<log, nextOffset>>
    /\ sync' = IF tiered THEN 0 ELSE sync
    /\ UNCHANGED <<term, lastOp, env, client, queue>>

\* Decide: the bounded model appends at the log's next offset.
Decide(o) == DecideAt(o, DecisionOffset(o))

\* ReleaseTicket: after the decision, after a failure, or when the term
\* changed under a fenced call (which then fails).
ReleaseTicket(o) ==
    /\ Free
    /\ Holds(o)
    /\ \/ ops[o].phase \in {"decided", "failed"} /\ ~Leak(o)
       \/ ops[o].phase = "fenced" /\ ops[o].term # term
       \/ ops[o].phase = "redeemed" /\ Bug = "release-before-decide"
    /\ queue' = [queue EXCEPT ![ops[o].pid] = Remove(@, o)]
    /\ SetOp(o, [ops[o] EXCEPT !.released = TRUE,
                   !.phase = IF @ = "fenced" /\ ops[o].term # term THEN "failed" ELSE @])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, hist, log>>

\* The call returns its outcome to the client (the fair part of Return).
ReturnResult(o) ==
    /\ Free
    /\ ops[o].returned = "no"
    /\ ops[o].phase \in {"decided", "failed"}
    /\ ~Holds(o) \/ Leak(o)
    /\ SetOp(o, [ops[o] EXCEPT !.returned = "yes"])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

\* The client gives up (Return "unknown"); the request goes on inside.
ReturnUnknown(o) ==
    /\ Free
    /\ ClientTimeout
    /\ ops[o].returned = "no"
    /\ SetOp(o, [ops[o] EXCEPT !.returned = "unknown"])
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, env, client, rm, queue, hist, log>>

Return(o) == ReturnResult(o) \/ ReturnUnknown(o)

-----------------------------------------------------------------------------
(* Environment actions. *)

\* EvictProducer: rm_stm forgets an idle producer.
EvictProducer(p) ==
    /\ Free
    /\ env.evictions < MaxEvictions
    /\ rm[p].known
    /\ rm' = [rm EXCEPT ![p] = [known |-> FALSE, epoch |-> 0, window |-> << >>]]
    /\ env' = [env EXCEPT !.evictions = @ + 1]
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, client, queue, hist, ops, log>>

\* BumpEpoch: the client moves to a higher epoch e and restarts its
\* sequence (the bounded model takes the next epoch, Next).
BumpEpoch(p, e) ==
    /\ Free
    /\ env.epochBumps < MaxEpochBumps
    /\ e > client[p].epoch
    /\ client' = [client EXCEPT ![p] = [@ EXCEPT !.epoch = e, !.nextSeq = 0]]
    /\ env' = [env EXCEPT !.epochBumps = @ + 1]
    /\ UNCHANGED <<term, nextOffset, lastOp, sync, rm, queue, hist, ops, log>>

\* ChangeTerm: a leadership change to any higher term t (a new leader may
\* skip terms: elections that elected no one, or leaders of other
\* replicas); fenced calls of the old term fail.  The bounded model takes
\* the next term only (Next): which higher term does not matter to any
\* step, only that it differs from the fenced calls' term.
ChangeTerm(t) ==
    /\ Free
    /\ env.termChanges < MaxTermChanges
    /\ t > term
    /\ term' = t
    /\ env' = [env EXCEPT !.termChanges = @ + 1]
    /\ UNCHANGED <<nextOffset, lastOp, sync, client, rm, queue, hist, ops, log>>

-----------------------------------------------------------------------------

Next ==
    \/ \E p \in Pids : Replicate(p)
    \/ \E o \in Ops : ReserveTicket(o)
    \/ \E o \in Ops : StageWriteStart(o)
    \/ \E o \in Ops : StageWriteDone(o)
    \/ \E o \in Ops : UploadDone(o)
    \/ \E o \in Ops : RedeemTicket(o)
    \/ \E o \in Ops : FenceEpoch(o)
    \/ \E o \in Ops : Decide(o)
    \/ \E o \in Ops : ReleaseTicket(o)
    \/ \E o \in Ops : Return(o)
    \/ \E p \in Pids : EvictProducer(p)
    \/ \E p \in Pids : BumpEpoch(p, client[p].epoch + 1)
    \/ ChangeTerm(term + 1)

\* The broker's own steps of call o: weakly fair.  The client's calls, its
\* timeouts and the environment are not.
BrokerStep(o) ==
    /\ o \in Ops
    /\ \/ ReserveTicket(o) \/ StageWriteStart(o) \/ StageWriteDone(o) \/ UploadDone(o)
       \/ RedeemAtHead(o) \/ FenceEpoch(o) \/ Decide(o) \/ ReleaseTicket(o) \/ ReturnResult(o)

Fairness == \A o \in 1..MaxOps : WF_vars(BrokerStep(o))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Invariants.  All but two are predicates over the state.  The two about *)
(* an OUT_OF_ORDER_SEQUENCE_NUMBER answer read flags, a history variable:  *)
(* ops[o].flags records which of them o's decision broke, because each is  *)
(* about the log at that moment, which later appends change (a retry of a  *)
(* rejected batch may be appended afterwards, legitimately).               *)

Broke(name) == \E o \in Ops : name \in ops[o].flags

\* o can still reserve a ticket: it has none and has not got past stage_write.
CanReserve(o) == ~ops[o].reserved /\ ops[o].phase \in {"called", "staging", "staged"}

\* o can still be decided: it has neither been decided nor failed, and is
\* not fenced in a term that has passed.
CanDecide(o) ==
    /\ ops[o].phase \notin {"decided", "failed"}
    /\ ~(ops[o].phase = "fenced" /\ ops[o].term # term)

\* For every producer, tickets are reserved in the order in which replicate() was called.
TicketOrderIsCallOrder ==
    \A o1, o2 \in Ops :
        (o1 < o2 /\ ops[o1].pid = ops[o2].pid /\ ops[o2].reserved) => ~CanReserve(o1)

\* For every producer, rm_stm decides the requests in the order in which replicate() was called.
DecideInCallOrder ==
    \A o1, o2 \in Ops :
        (o1 < o2 /\ ops[o1].pid = ops[o2].pid /\ ops[o2].phase = "decided") => ~CanDecide(o1)

\* No batch that is next in its producer's sequence is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.
NoSpuriousOutOfOrder == ~Broke("NoSpuriousOutOfOrder")

(* ContiguousAppends and NoDuplicateAppend are predicates over the log:   *)
(* each entry is judged against the entries before it, which later       *)
(* appends do not change.  An epoch's sequence space wraps after MaxSeq,  *)
(* so an entry is compared with those of its lap only: the entries of its *)
(* producer and epoch since the last wrap (an entry from 0 right after    *)
(* one that ends at MaxSeq).  The Go twin judges each append against the  *)
(* summary of the earlier ones that its long replays keep (hist here),    *)
(* so TLC and the Go checker agreeing on them checks two formulations.   *)

\* The latest entry of log[j]'s producer before j (0 if none).
PrevOfPid(j) ==
    LET ks == {k \in 1..(j - 1) : log[k].pid = log[j].pid}
    IN IF ks = {} THEN 0 ELSE CHOOSE k \in ks : \A x \in ks : x <= k

\* The sequence after x (0 after MaxSeq).
Succ(x) == IF x = MaxSeq THEN 0 ELSE x + 1

\* log[m] starts a new lap of its epoch: it follows, from 0, a batch of its
\* producer and epoch that ends at MaxSeq.
WrapsAt(m) ==
    LET i == PrevOfPid(m)
    IN i > 0 /\ log[i].epoch = log[m].epoch /\ log[i].last = MaxSeq /\ log[m].first = 0

\* log[k] is an earlier entry of log[j]'s lap.
SameLap(k, j) ==
    /\ k < j /\ log[k].pid = log[j].pid /\ log[k].epoch = log[j].epoch
    /\ ~\E m \in (k + 1)..j : log[m].pid = log[j].pid /\ WrapsAt(m)

\* log[j] repeats a sequence of its lap.
DupInLap(j) ==
    \E k \in 1..(j - 1) : SameLap(k, j) /\ log[k].first <= log[j].last /\ log[j].first <= log[k].last

\* Within an epoch each producer's appended ranges are contiguous and increasing, and epochs never go back.
ContiguousAppends ==
    \A j \in DOMAIN log :
        LET i == PrevOfPid(j) IN
        i > 0 => /\ log[j].epoch >= log[i].epoch
                 /\ log[j].epoch = log[i].epoch => log[j].first = Succ(log[i].last) \/ DupInLap(j)

\* No sequence number of a producer's epoch is appended twice.
NoDuplicateAppend == \A j \in DOMAIN log : ~DupInLap(j)

\* No batch whose sequences are all in the log is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.
\* (A flag: the property is about the log at the moment of the decision,
\* which later appends change; a retry of a rejected batch may be
\* appended afterwards, legitimately.)
LoggedBatchNotOutOfOrder == ~Broke("LoggedBatchNotOutOfOrder")

\* Every batch acknowledged with an offset is in the log at that offset (a duplicate gets the original's offset).
AckedInLog ==
    \A o \in Ops :
        (ops[o].returned = "yes" /\ Outcome(o).res = "ok") =>
            \E i \in DOMAIN log :
                /\ log[i].offset = ops[o].offset
                /\ log[i].pid = ops[o].pid /\ log[i].epoch = ops[o].epoch
                /\ log[i].first = ops[o].first /\ log[i].last = ops[o].last

\* The first sequence p called in epoch e (a log entry's call exists).
FirstCallSeq(p, e) ==
    LET cs == {o \in Ops : ops[o].pid = p /\ ops[o].epoch = e}
    IN ops[CHOOSE o \in cs : \A x \in cs : o <= x].first

(* EpochStartsAtFirstCall is a predicate over the log and the calls      *)
(* alone, with no history variable.  The Go twin computes the same       *)
(* property step by step, from summaries its long replays keep, so TLC   *)
(* and the Go checker agreeing on it is a check of two independent       *)
(* formulations.                                                         *)

\* Every producer's log of an epoch starts at the first sequence it called in that epoch (0, or where its first contact began).
EpochStartsAtFirstCall ==
    \A i \in DOMAIN log :
        (\A j \in 1..(i - 1) : log[j].pid # log[i].pid \/ log[j].epoch # log[i].epoch)
            => log[i].first = FirstCallSeq(log[i].pid, log[i].epoch)

\* Every call eventually returns to its client (under Fairness).
EveryCallReturns ==
    \A o \in 1..MaxOps : (o \in Ops) ~> (o \in Ops /\ ops[o].returned # "no")

=============================================================================
