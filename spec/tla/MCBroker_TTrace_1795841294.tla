---- MODULE MCBroker_TTrace_1795841294 ----
EXTENDS Sequences, TLCExt, Toolbox, MCBroker, Naturals, TLC

_expression ==
    LET MCBroker_TEExpression == INSTANCE MCBroker_TEExpression
    IN MCBroker_TEExpression!expression
----

_trace ==
    LET MCBroker_TETrace == INSTANCE MCBroker_TETrace
    IN MCBroker_TETrace!trace
----

_inv ==
    ~(
        TLCGet("level") = Len(_TETrace)
        /\
        hist = (<<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>)
        /\
        ops = (<<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "duplicate", pid |-> 1, first |-> 0, last |-> 0, returned |-> "yes", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder", "DecideInCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>)
        /\
        log = (<<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>)
        /\
        client = (<<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>)
        /\
        term = (0)
        /\
        rm = (<<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>)
        /\
        nextOffset = (1)
        /\
        env = ([evictions |-> 0, epochBumps |-> 1, termChanges |-> 0])
        /\
        sync = (0)
        /\
        queue = (<<<<>>>>)
        /\
        lastOp = (2)
    )
----

_init ==
    /\ nextOffset = _TETrace[1].nextOffset
    /\ log = _TETrace[1].log
    /\ lastOp = _TETrace[1].lastOp
    /\ rm = _TETrace[1].rm
    /\ hist = _TETrace[1].hist
    /\ env = _TETrace[1].env
    /\ queue = _TETrace[1].queue
    /\ term = _TETrace[1].term
    /\ client = _TETrace[1].client
    /\ sync = _TETrace[1].sync
    /\ ops = _TETrace[1].ops
----

_next ==
    /\ \E i,j \in DOMAIN _TETrace:
        /\ \/ /\ j = i + 1
              /\ i = TLCGet("level")
        /\ nextOffset  = _TETrace[i].nextOffset
        /\ nextOffset' = _TETrace[j].nextOffset
        /\ log  = _TETrace[i].log
        /\ log' = _TETrace[j].log
        /\ lastOp  = _TETrace[i].lastOp
        /\ lastOp' = _TETrace[j].lastOp
        /\ rm  = _TETrace[i].rm
        /\ rm' = _TETrace[j].rm
        /\ hist  = _TETrace[i].hist
        /\ hist' = _TETrace[j].hist
        /\ env  = _TETrace[i].env
        /\ env' = _TETrace[j].env
        /\ queue  = _TETrace[i].queue
        /\ queue' = _TETrace[j].queue
        /\ term  = _TETrace[i].term
        /\ term' = _TETrace[j].term
        /\ client  = _TETrace[i].client
        /\ client' = _TETrace[j].client
        /\ sync  = _TETrace[i].sync
        /\ sync' = _TETrace[j].sync
        /\ ops  = _TETrace[i].ops
        /\ ops' = _TETrace[j].ops

\* Uncomment the ASSUME below to write the states of the error trace
\* to the given file in Json format. Note that you can pass any tuple
\* to `JsonSerialize`. For example, a sub-sequence of _TETrace.
    \* ASSUME
    \*     LET J == INSTANCE Json
    \*         IN J!JsonSerialize("MCBroker_TTrace_1795841294.json", _TETrace)

=============================================================================

 Note that you can extract this module `MCBroker_TEExpression`
  to a dedicated file to reuse `expression` (the module in the 
  dedicated `MCBroker_TEExpression.tla` file takes precedence 
  over the module `MCBroker_TEExpression` below).

---- MODULE MCBroker_TEExpression ----
EXTENDS Sequences, TLCExt, Toolbox, MCBroker, Naturals, TLC

expression == 
    [
        \* To hide variables of the `MCBroker` spec from the error trace,
        \* remove the variables below.  The trace will be written in the order
        \* of the fields of this record.
        nextOffset |-> nextOffset
        ,log |-> log
        ,lastOp |-> lastOp
        ,rm |-> rm
        ,hist |-> hist
        ,env |-> env
        ,queue |-> queue
        ,term |-> term
        ,client |-> client
        ,sync |-> sync
        ,ops |-> ops
        
        \* Put additional constant-, state-, and action-level expressions here:
        \* ,_stateNumber |-> _TEPosition
        \* ,_nextOffsetUnchanged |-> nextOffset = nextOffset'
        
        \* Format the `nextOffset` variable as Json value.
        \* ,_nextOffsetJson |->
        \*     LET J == INSTANCE Json
        \*     IN J!ToJson(nextOffset)
        
        \* Lastly, you may build expressions over arbitrary sets of states by
        \* leveraging the _TETrace operator.  For example, this is how to
        \* count the number of times a spec variable changed up to the current
        \* state in the trace.
        \* ,_nextOffsetModCount |->
        \*     LET F[s \in DOMAIN _TETrace] ==
        \*         IF s = 1 THEN 0
        \*         ELSE IF _TETrace[s].nextOffset # _TETrace[s-1].nextOffset
        \*             THEN 1 + F[s-1] ELSE F[s-1]
        \*     IN F[_TEPosition - 1]
    ]

=============================================================================



Parsing and semantic processing can take forever if the trace below is long.
 In this case, it is advised to uncomment the module below to deserialize the
 trace from a generated binary file.

\*
\*---- MODULE MCBroker_TETrace ----
\*EXTENDS IOUtils, MCBroker, TLC
\*
\*trace == IODeserialize("MCBroker_TTrace_1795841294.bin", TRUE)
\*
\*=============================================================================
\*

---- MODULE MCBroker_TETrace ----
EXTENDS MCBroker, TLC

trace == 
    <<
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<>>,log |-> <<>>,client |-> <<[epoch |-> 0, nextSeq |-> 0, sent |-> 0, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 0, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 0]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "called", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 0, nextSeq |-> 1, sent |-> 1, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 0, termChanges |-> 0],sync |-> 1,queue |-> <<<<>>>>,lastOp |-> 1]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 0, nextSeq |-> 1, sent |-> 1, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 0, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 1]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 0, sent |-> 1, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 1]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}], [term |-> 0, epoch |-> 1, reserved |-> FALSE, released |-> FALSE, phase |-> "called", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 2,queue |-> <<<<>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}], [term |-> 0, epoch |-> 1, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 0, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}], [term |-> 0, epoch |-> 1, reserved |-> FALSE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 2,queue |-> <<<<>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staging", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> FALSE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 1,queue |-> <<<<2>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "staged", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "redeemed", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 0, has |-> FALSE, epoch |-> 0, maxLast |-> 0, prefix |-> 0, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "fenced", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 0, known |-> FALSE, window |-> <<>>]>>,nextOffset |-> 0,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> FALSE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<2, 1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "uploaded", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "redeemed", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "fenced", offset |-> 0, decision |-> "none", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> FALSE, phase |-> "decided", offset |-> 0, decision |-> "duplicate", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder", "DecideInCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<1>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "duplicate", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder", "DecideInCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 2]),
    ([hist |-> <<[maxTicket |-> 2, maxDecide |-> 2, has |-> TRUE, epoch |-> 1, maxLast |-> 0, prefix |-> 1, above |-> {}]>>,ops |-> <<[term |-> 0, epoch |-> 0, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "duplicate", pid |-> 1, first |-> 0, last |-> 0, returned |-> "yes", retried |-> FALSE, flags |-> {"TicketOrderIsCallOrder", "DecideInCallOrder"}], [term |-> 0, epoch |-> 1, reserved |-> TRUE, released |-> TRUE, phase |-> "decided", offset |-> 0, decision |-> "append", pid |-> 1, first |-> 0, last |-> 0, returned |-> "no", retried |-> FALSE, flags |-> {}]>>,log |-> <<[epoch |-> 1, offset |-> 0, pid |-> 1, first |-> 0, last |-> 0]>>,client |-> <<[epoch |-> 1, nextSeq |-> 1, sent |-> 2, retries |-> 0]>>,term |-> 0,rm |-> <<[epoch |-> 1, known |-> TRUE, window |-> <<[epoch |-> 1, offset |-> 0, first |-> 0, last |-> 0]>>]>>,nextOffset |-> 1,env |-> [evictions |-> 0, epochBumps |-> 1, termChanges |-> 0],sync |-> 0,queue |-> <<<<>>>>,lastOp |-> 2])
    >>
----


=============================================================================

---- CONFIG MCBroker_TTrace_1795841294 ----
CONSTANTS
    TicketOrder = "after-stage"
    Producers = 1
    Batches = 2
    KnownProducers = FALSE
    StageFailure = FALSE
    UploadFailure = FALSE
    FenceFailure = FALSE
    ClientTimeout = FALSE
    MaxRetries = 0
    MaxEvictions = 0
    MaxEpochBumps = 1
    MaxTermChanges = 0
    Window = 5
    Bug = "none"

INVARIANT
    _inv

CHECK_DEADLOCK
    \* CHECK_DEADLOCK off because of PROPERTY or INVARIANT above.
    FALSE

INIT
    _init

NEXT
    _next

CONSTANT
    _TETrace <- _trace

ALIAS
    _expression
=============================================================================
\* Generated on Sat Nov 28 04:48:18 UTC 2026