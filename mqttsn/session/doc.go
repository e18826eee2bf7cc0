// Package session is the per-client MQTT-SN state machine, without I/O: Handle(now, msg) returns
// the actions to take (reply, publish to the broker, arm a timer).
//
// Contract: no network, no goroutines, no clock of its own; time comes in as an argument.
package session
