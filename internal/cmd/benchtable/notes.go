package main

// notes closes BENCHMARKS.md: how the figures come about, from the
// profiles.
const notes = `## Notes

- **Decoding** is a hand-written scanner for the fixed JSONL schema
  (history/jsonfast.go); a line it does not recognise exactly (white
  space, escapes, unknown or repeated fields, floats, out-of-range
  numbers) goes to encoding/json, so every error message and class is the
  one encoding/json gave before. It allocates nothing per event; what is
  left in its profile is the line scan (bufio, UTF-8 validation) and the
  consistency check of every event (history.Stream, a map of open ops).
- **Checking** replays each producer's operations in call order as soon
  as they have returned (checker/stream.go): with the call-order
  obligation the linearization order is fixed, so porcupine's search
  reduces to stepping a small set of model states per operation (forked
  only by ambiguous outcomes, and kept small by dominance and runs: see
  "Unknown outcomes"). A part whose set outgrows 16384 states is
  Unknown, with that reason; the explanation of a failing producer is
  computed from its records at the end. TestEquivalenceCorpus and
  TestEquivalenceGenerated (checker, 10,000 seeded histories by default,
  -equiv=N for more) check that the verdicts, part verdicts and
  violations equal porcupine's.
- **Streaming**: checker.CheckReader decodes on one goroutine and checks on
  another (only Replicate, Return and EvictProducer events cross over), so
  on two free cores the check hides behind decoding; on this shared
  machine another process often held one core, which is why wall time is
  close to CPU time in some rows. A producer with recorded evictions is
  replayed as soon as the evictions its decisions may follow are known.
  The check with checker.Options.KeepAll keeps, per operation, an
  80-byte record (not the ~10 events of 150 bytes each that a whole-file
  load holds), so its memory grows
  with the operations, not with the events or the file (see the growth
  table). Those records give the exact explanation of a failure and name
  both batches of a breach of the partition-level check (acked record
  ranges of two producers that overlap, or a batch acked below one that
  was acked before it was called), which runs as the acks arrive.
- **Bounded** (the checker's default, and idemcheck check's):
  a producer's records are dropped once the replay has decided them, a
  chunk of 256 behind it, keeping the replay's states at the cut; the
  partition-level check keeps the union of the acked record ranges
  (about one range per gap in the log) and the partition's last 1024
  acks. What stays is the open operations, at most about 512 records per
  producer and those ranges, so the peak RSS
  stays flat as the input grows (growth table; TestCheckMemory in
  cmd/idemcheck, behind -bigops, pipes 0.67 GB and then 2.8 GB of
  generated JSONL through the CLI: peak live heap 20 and 22 MiB bounded,
  103 and 388 MiB full). Verdicts are the same (TestBoundedSameVerdicts);
  a breach whose earlier ack is no longer held is reported without
  naming it, and the CLI's witness finds it by reading again.
- **Plain porcupine** copies its linearized set at every step and its
  cache grows with every distinct (set, state) pair, so its time grows
  much faster than linearly with the operations it must consider together,
  while the replay is linear.
- **Shrink** first cuts the history to the failing producer, then to a
  window before the operations the violation names, and only then runs
  ddmin, whose every test then checks a few dozen operations instead of
  the file.
- **The Beam pipeline** (beam/, a module of its own, so benchtable
  cannot run it) is measured by hand against the single process on the
  same 1M-operation history, with the arithmetic for 1 TB on N workers:
  see beam/BENCHMARKS.md.
`
