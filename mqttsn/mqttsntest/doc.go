// Package mqttsntest holds annotated golden MQTT-SN datagrams shared by the codec's round-trip
// tests and by conversation tests (client, gateway, simulator): every octet of every fixture is
// commented, so a failing test points at a byte a reader can check against the spec.
//
// Three lists: Golden (canonical: Bytes decode to Msg and Msg encodes to exactly Bytes),
// DecodeOnly (legal variants a decoder must accept, such as the long Length form for a short
// message; they decode to Msg but Msg encodes canonically) and Malformed (datagrams every decoder
// must reject, with the error expected).
//
// Imported only by tests, the simulator and cmd (DESIGN.md §3). Treat the fixtures as read-only:
// decoded messages alias their Bytes.
package mqttsntest
