// Package capture finds MQTT-SN datagrams in traffic: a reader of classic libpcap files
// (Ethernet, Linux cooked, raw IP and loopback links; IPv4 and IPv6; UDP), written with the
// standard library only, and a formatter that turns one MQTT-SN message into a readable line.
//
// The pcap reader bounds every record (a corrupt length cannot make it allocate more than
// 256 KiB) and skips, counting them, frames that hold no whole UDP datagram.
package capture
