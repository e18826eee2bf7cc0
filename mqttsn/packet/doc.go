// Package packet is the MQTT-SN v1.2 codec: every message of the spec (§5.4) and the forwarder
// encapsulation (§5.5), decoded from one datagram and encoded by appending to a caller's buffer.
//
// Contract: standard library only; Decode never reads past the Length field, rejects a Length that
// disagrees with the datagram, never panics and never allocates more than the datagram it is given.
package packet
