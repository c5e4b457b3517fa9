// Package tlc runs TLC, the TLA+ model checker, for the tests that
// compare it with the project's Go code: internal/mc's TestTLC (TLC and
// the Go model checker on every MCBroker_*.cfg) and internal/agreement's
// TestTraceBrokerAgreesWithValidate (TLC's trace validation,
// spec/tla/TraceBroker.tla, and checker/validate on every corpus trace).
//
// The project never needs TLC. The tests find it through two
// environment variables and skip, saying why, when they are unset:
//
//	IDEMCHECK_TLA2TOOLS          the path of tla2tools.jar (TLC)
//	IDEMCHECK_COMMUNITY_MODULES  the path of the TLA+ CommunityModules jar
//	                             (Json and IOUtils, for trace validation)
//
// Every run is bounded and leaves nothing behind: TLC runs in its own
// process group with a time budget that ends before the test binary's
// own -timeout would, the whole group is killed when the budget runs
// out, and again in the test's cleanup should TLC still run (so on a
// failure or a panic of the test too); a run returns only once TLC has
// exited, and on Linux the kernel also kills TLC if the test binary
// dies first. After a test, `pgrep java` finds no TLC of it.
//
// [Parse] reads what the tests compare from TLC's output: the final
// state counts, the depth, the verdict and the length of the error
// trace.
//
// The package is imported only by tests.
package tlc
