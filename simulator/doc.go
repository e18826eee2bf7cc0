// Package simulator drives swarms of virtual MQTT-SN sensors against any MQTT-SN v1.2 gateway and
// checks, end to end, that every message arrived as its QoS promises.
//
// Run plays a scenario (package scenario): each sensor is a goroutine speaking MQTT-SN over its
// own UDP socket — or over a forwarder node sharing one socket with others (package forwarder,
// §5.5) — optionally through an impaired link (package impair). The sensor driver is written on
// the codec (mqttsn/packet), not on mqttsn/client, so that the checker does not share the bugs of
// the library under test; it connects with its will, registers, publishes at QoS −1..2 with
// retransmissions, subscribes, answers the gateway's REGISTER and PUBLISH, sleeps and wakes by
// PINGREQ or CONNECT (§6.14).
//
// An Observer (MQTTObserver: an MQTT 3.1.1 connection to any broker) subscribes to the sensors'
// topics and publishes the commands for the actuators. Every payload carries a check.Header, so
// the checker (package check) accounts for each message by sender and sequence number in both
// directions and judges the run; package report prints it, as JSON or as an HTML page. The
// observer's session is persistent and it reconnects, so a run can judge a broker that restarts
// in the middle (an outage longer than MaxOutage fails the run); its session is deleted at the end.
//
// Contract: Run returns an error only when the run could not take place (bad address, broker
// unreachable); broken guarantees and trouble during the run are in the report
// (Report.Passed). Every goroutine Run starts has ended when it returns.
package simulator
