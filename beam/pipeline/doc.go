// Package pipeline checks the histories of a cluster's captures as an
// Apache Beam pipeline, so that more than one machine reads them: the
// check splits by partition (each producer's replay and the
// cross-producer offset check need only that partition's events).
//
// The steps, in [Build]:
//
//  1. match the input files (a glob; JSON Lines, gzip'd or not) and parse
//     each with package history, one line at a time: a line that does not
//     decode, or breaks the file's consistency (history.Stream: op ids,
//     open operations, times), is a bad line, reported as FILE:LINE in the
//     report's bad_lines and never dropped silently;
//  2. key every Replicate and Return by (source, op), a source being one
//     file (op ids are unique only within a source), and join each
//     Replicate with its Return (the write path's internal events are
//     counted but not shipped: neither the black-box check nor its
//     shrinking reads them; evictions and the log's observed batches go
//     straight to their partition);
//  3. key by partition and check each partition's history with
//     [checker.Check] (a history holding only that partition gives that
//     partition's verdicts, see checker/report's TestMergeCorpus), after
//     putting its events in time order,
//     and, when it is Illegal, shrinking its first violation to a
//     minimal witness with [checker.Shrink];
//  4. write the report of "idemcheck check --json" ([report.Check]) with
//     [report.Merge], which puts the partitions' results in the order of
//     one history's check, and the witness of the partition of the
//     merged first violation: the violation the command shrinks. Shrink
//     starts from that violation's producer in its partition, a cut the
//     same from the whole history as from the partition's, so the two
//     witnesses list the same operations whenever that cut shows the
//     violation (in every corpus and generated history; see the README;
//     the pipeline's lists only their client events).
//
// A partition that a bad line may concern is undecided (Unknown, with the
// bad line as the reason), never judged on what is left: a lost line
// could make a correct history look wrong. The partition of a bad line is
// read from its "partition" field when the line holds one that parses;
// otherwise every partition of the bad line's file is undecided, the
// others still decided.
//
// The events of one partition are merged from their sources in time
// order (ties by source and line). When their op ids do not increase in
// call order (several sources), the partition's operations are numbered
// again in call order for the check and the report names them by their
// original op ids, except in the explanations' text, which names the new
// ones.
//
// With Config.Validate the pipeline validates instead of checking: the
// parse step ships the internal events too (BumpEpoch to every partition
// of its producer in its source), each partition's history goes through
// checker/validate, and the report is that of "idemcheck validate
// --json" ([Validation]), with the first failing event in input order.
package pipeline
