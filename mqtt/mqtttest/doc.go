// Package mqtttest holds test helpers for MQTT 3.1.1:
//
//   - Golden: annotated byte fixtures of every control packet, each with its decoded value;
//   - Malformed: encodings a receiver must refuse, with the sentinel error and the rule cited;
//   - Conn: a raw client for conversation tests (send packets or bytes, expect replies or a
//     closed connection), so broker tests can break the rules a real client keeps.
//
// Sub-package load is the MQTT load generator behind make bench-broker.
//
// Contract: imported only by tests, the simulator and cmd (DESIGN.md §3); the fixtures are
// shared values — callers must not modify them.
package mqtttest
