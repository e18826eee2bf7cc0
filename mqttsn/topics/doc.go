// Package topics is the MQTT-SN topic-ID registry: per-client normal ids, the predefined table
// (global and per client) and two-character short names.
//
// Contract: ids 0x0000 and 0xFFFF are never assigned and normal ids never collide with predefined
// ones (MQTT-SN §6.7, §7.3).
package topics
