// Command sncat is the MQTT-SN publish, subscribe and dump tool: the mosquitto_pub/sub of
// MQTT-SN, with their flag habits.
//
//	sncat pub -h HOST -p PORT -t TOPIC -m MESSAGE [-q QOS] [-i ID] [-r] …
//	sncat sub -h HOST -p PORT -t TOPIC [-q QOS] [-C COUNT] [-W SECONDS] [-v] …
//	sncat dump [-p PORT | -l ADDR | -r FILE.pcap] [--relay GATEWAY]
package main
