// Package load is an MQTT 3.1.1 load generator over raw TCP, built on mqtt/packet: fan-in
// (N publishers → 1 subscriber) and fan-out (1 publisher → N subscribers) at QoS 0 or 1, with
// small payloads that carry their send time, measuring messages received per second and latency
// percentiles; and an idle mode that holds many connections open so a broker's memory per
// connection can be read from /proc.
//
// It is a test tool (make bench-broker, cmd/mqttload), not part of the product. All clients run
// in this process, so latency is measured on one clock.
package load
