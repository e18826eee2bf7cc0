// Package broker is the MQTT 3.1.1 broker core: sessions, QoS flows, wills, keepalive, retained
// messages, $SYS, authentication and ACLs, listeners, and in-process clients.
//
// Contract: knows nothing of MQTT-SN or the bridge; those attach as in-process clients.
package broker
