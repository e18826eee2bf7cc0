// Package client is a Go MQTT-SN v1.2 client: connect with will, register, publish at every QoS
// with retries, subscribe with a handler, sleep and wake, predefined and short topics, discovery.
package client
