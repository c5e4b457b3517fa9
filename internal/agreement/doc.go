// Package agreement holds the tests that tie the project's packages
// together: the differential test of the checker against the reference
// checker (internal/refcheck) on small histories from the reference
// implementation (impl), the synthetic generator (internal/gen), a random
// client-level generator, mutations of all of these and hand-written
// cases.
//
// TestReferenceAgrees judges every history with refcheck and with
// checker.Check (bounded, its default, and with Options.KeepAll) under both broker
// dialects and fails on the first disagreements, printing each one
// shrunk to a few operations as JSON Lines with the seed that rerun it:
//
//	go test ./internal/agreement -run TestReferenceAgrees
//	go test ./internal/agreement -run TestReferenceAgrees -agreement.n 1000000
//	go test ./internal/agreement -run TestReferenceAgrees -seed 42 -agreement.n 5000
//	go test ./internal/agreement -run TestReferenceAgrees -agreement.out /tmp/diffs
//
// -agreement.out writes every kind of disagreement found, shrunk, as a
// trace file whose header's expect field is the reference's verdict.
// TestHarnessCatchesBrokenRule runs the same harness with a reference
// whose decision rule is broken on purpose, to show that the test can
// fail.
//
// The other tests that tie packages together live here too, so that
// outside this package spec imports no project package (its tests the
// shared test flags, internal/testflag, alone), checker never
// imports impl or the model checker and impl never imports checker,
// tests included, and internal/mc imports spec alone (its tests import
// neither checker nor impl). TestImportRules holds these rules, each
// with its reason, and checks them and README.md's table of who may
// import whom on every .go file of the module. The tests here:
//
//   - TestClosedLoop, the project's end-to-end proof: the model
//     checker's counterexamples (internal/mc) exported as histories, the
//     black-box checker finds them Illegal with the same invariant, and
//     replay.Replay reproduces their decisions and outcomes;
//   - TestModelCheckerCounterexamples and TestRandomWalks: the
//     white-box validator (checker/validate) against the model checker's
//     counterexamples and random walks of the spec;
//   - TestImplHistories: the white-box validator on impl's random
//     workloads;
//   - TestCheckerFindsNoViolationWithFix, TestCheckerDetectsPrefixOrdering
//     and TestBoundedCheckAgrees: the black-box checker on impl's random
//     workloads (-seed S reruns one seed, -seeds N runs N);
//   - TestVocabulary: the TLA+ action names, the Go spec's and the
//     history event kinds are one set;
//   - CheckSanity and the TestSanity tests: the white-box invariants the
//     reference implementation keeps with the fix, checked on the
//     histories of impl/sim (seed scenarios, random workloads), of
//     impl/server under load and of impl/replay;
//   - TestDocReferences: every relative link and backquoted repository
//     path in the docs and comments names a file that exists, and none
//     points at notes outside the repository;
//   - TestScripts: the datadriven scripts in testdata/scripts, which
//     drive an impl/sim Sim step by step and print what the frontend
//     recorded, its state and CheckSanity's answer (-rewrite to
//     regenerate);
//   - TestTraceBrokerAgreesWithValidate: TLC's trace validation
//     (spec/tla/TraceBroker.tla, run through internal/tlc when
//     IDEMCHECK_TLA2TOOLS and IDEMCHECK_COMMUNITY_MODULES are set) and
//     the white-box validator accept the same corpus traces and stop the
//     others at the same event.
//
// TestReadBackSeedScenario reads the reference implementation's log back
// after the seed scenario (impl/sim's ReadBack) and checks that the
// checker's read check names the pre-fix hole: the rejected batch and the
// acked batch that needed it.
//
// The package holds no code besides its tests.
package agreement
