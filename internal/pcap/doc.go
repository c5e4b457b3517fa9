// Package pcap reads Kafka traffic from packet captures (pcap and
// pcapng, as written by tcpdump or Wireshark) and decodes it into a
// produce history with [kafkawire], and writes such captures.
//
// [Import] reassembles the TCP connections to or from one broker port
// with gopacket's reassembly package, then feeds each direction to a
// [kafkawire.Conn] with the packets' capture times. Capture flaws are
// reported, never fatal:
//
//   - retransmitted and overlapping segments are dropped by the
//     reassembly and counted;
//   - missing segments become a [kafkawire.Conn.Gap]: the frame they cut
//     is lost and the decoder searches for the next one, and requests
//     whose responses were lost become unknown outcomes;
//   - a connection whose SYN is not in the capture is decoded from the
//     first plausible frame on;
//   - a capture that ends with connections open leaves their operations
//     unknown.
//
// [Writer] synthesizes Ethernet/IPv4/TCP packets (with a handshake,
// sequence numbers and FINs) for byte streams seen elsewhere, for
// example by the recording proxy, so that the same traffic can be
// checked through both paths.
package pcap
