// Package server is the concurrent shell around the reference
// implementation's core ([impl.Frontend]), for network servers such as
// internal/kafkabroker: one goroutine owns the frontend and serves calls
// over channels, and the data plane completes each stage_write and upload
// from its own goroutine after a random delay, so completions reorder as
// they would in a broker.
//
// [Server.Replicate] returns a call's two stages ([Stages]: enqueued,
// then finished with a result); [Server.Do] runs a function on the
// owning goroutine for evictions, term changes and inspection.
//
// Unlike impl/sim, a Server is not deterministic: its delays are real
// time and goroutine scheduling decides the order of completions, so its
// histories are for checking, not for golden files.
package server
