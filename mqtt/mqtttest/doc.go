// Package mqtttest holds test helpers for MQTT 3.1.1: annotated golden byte fixtures of every
// control packet (Golden) and of malformed packets with the rule each breaks (Malformed), shared
// by the codec's tests and the broker's conversation tests.
//
// Contract: imported only by tests, the simulator and cmd (DESIGN.md §3); the fixtures are
// values — callers must not modify them.
package mqtttest
