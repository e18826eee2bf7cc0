// Command snsim is the MQTT-SN sensor-swarm simulator and end-to-end checker.
//
//	snsim run SCENARIO [--gateway ADDR] [--broker ADDR] [--duration D] [--json FILE] [--report FILE]
//	snsim bench [--clients N] [--qos 0,1] [--rate R] [--duration D] [--gateway ADDR] [--broker ADDR]
//
// The exit status is 0 when every QoS guarantee held, 2 when one was broken, 1 on other errors.
package main
