// Package check is the simulator's end-to-end checker, pure logic: it accounts for every message
// of a run by (sensor, sequence number) in each direction — sensor publishes seen by an MQTT
// subscriber (Uplink), commands seen by actuators (Downlink) — and judges the result against
// what each QoS promises (see Checker.Result).
//
// Every simulated payload starts with a Header (HeaderSize bytes) naming the run, the sensor,
// the sequence number and the send time; latency is measured from it, so sender and receiver
// must share a clock (they run in one process).
package check
