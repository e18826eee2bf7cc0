// Command mqttload applies MQTT 3.1.1 loads to a broker and prints what it measured.
//
//	go run ./mqtt/mqtttest/load/cmd/mqttload -broker 127.0.0.1:1883 -mode fanin -qos 1 -clients 100
//	go run ./mqtt/mqtttest/load/cmd/mqttload -broker 127.0.0.1:1883 -mode idle -clients 10000 -pid $(pidof mosquitto)
//
// With -suite it runs the standard set of loads (100 publishers → 1 subscriber and 1 → 100 at
// QoS 0 and 1, 32-byte payloads, one message in flight per publisher: unacknowledged at QoS 1,
// undelivered at QoS 0; QoS 0 also paced; 10 000 idle connections) against each broker given
// by -spawn NAME=COMMAND, where COMMAND is started with {port} replaced by a free loopback
// port, all brokers at once taking turns load by load, and prints Markdown tables comparing
// them. -spawn NAME:LOAD,...=COMMAND runs only the loads named (fanin-qos0, fanin-qos1,
// fanin-qos0-paced, fanout-qos0, fanout-qos1, fanout-qos0-paced, idle): a broker in a second
// configuration for the loads where the configuration matters.
package main
