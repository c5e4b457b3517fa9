// Package proxy is a recording TCP proxy for Kafka traffic.
//
// A [Proxy] accepts client connections, dials the upstream broker for
// each, and copies bytes both ways, unchanged but for the broker
// addresses in a few responses (see below). Every chunk it reads is
// first fed to a [kafkawire.Conn] (one per connection) and, if asked, to
// a pcap [pcap.Writer], under one lock and with one timestamp, and
// only then forwarded: a request's Replicate is recorded before the
// broker can see the request, and a response's Return before the client
// can see the response. Because the capture and the decoder get the same
// bytes, times and order, importing the capture gives the history the
// proxy recorded.
//
// When either end of a connection closes or fails, the proxy closes both
// ends and the connection's unanswered requests become unknown outcomes.
// When Serve's context is cancelled, the proxy stops accepting, closes
// every connection the same way and returns, so the caller can flush its
// history file.
//
// # Brokers reached through the proxy
//
// Clients learn broker addresses from Metadata (and FindCoordinator and
// DescribeCluster) responses. The proxy rewrites those responses, as
// Kafka proxies such as Kroxylicious do, so that every broker is reached
// through it: the listener given to [Proxy.Serve] serves
// Options.Upstream (and any node advertised at that address), and each
// other broker node seen in a response gets a listener of its own on the
// same host, on the next free port after the first listener's or else an
// ephemeral port; the response advertises those listeners, at
// Options.AdvertiseHost or else the address the client reached the
// proxy at. [Proxy.Routes] lists them. The decoder and the capture see
// the broker's bytes; only the client sees the rewritten response. A
// response the proxy cannot decode, or a broker it cannot open a
// listener for, is passed on unchanged with a warning (Options.Warnf,
// once per address or reason): clients may then reach that broker
// directly, and its traffic is not recorded. Produce responses of v10+
// and Fetch responses of v16+ may name a new leader's address
// (KIP-951): those are rewritten too. Such a response is buffered (up to
// maxRewriteBytes, like every response the proxy rewrites) and passed on
// byte for byte unless it names a broker; then only its broker list
// changes, the record data being copied as it came.
package proxy
