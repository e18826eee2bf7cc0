// Command gwbench measures an MQTT-SN gateway end to end (make bench-gateway): QoS 0 and QoS 1
// flows from MQTT-SN clients over UDP to one MQTT subscriber over TCP, connects per second, and
// the gateway's memory per idle connected client.
//
//	gwbench -snbridge bin/snbridge            start snbridge on free loopback ports and measure it
//	gwbench -gateway H:P -broker H:P -pid N   measure a running gateway (RSS needs its pid)
//
// It prints one line per load and a Markdown table at the end.
package main
