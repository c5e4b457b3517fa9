// Package replay drives the reference implementation's core
// ([impl.Frontend]) through the events of a given history and returns the
// history the implementation records, with the same op ids, so the
// client-visible Returns can be compared.
//
// The input may be a whole recorded history, which [Replay] reproduces
// byte for byte, or one reduced to the client's view (for example a model
// checker's counterexample, which may hold only Replicate,
// StageWriteDone, UploadDone and Return events): the redeems and
// decisions are then placed where the Returns ask for them.
// [WithTicketOrder] replays under another ticket ordering than the
// history's, to see what the fix makes of a pre-fix counterexample.
package replay
