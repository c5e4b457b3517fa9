// Package proxy is a recording TCP proxy for Kafka traffic.
//
// A [Proxy] accepts client connections, dials the upstream broker for
// each, and copies bytes both ways unchanged. Every chunk it reads is
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
// Note that a client that connects to the proxy learns the broker
// addresses from Metadata responses, which the proxy passes on unchanged:
// clients must reach every broker through a proxy, or the broker must
// advertise the proxy's address (one proxy per broker, listeners set
// accordingly). For a single-broker setup, advertise the proxy's address.
package proxy
