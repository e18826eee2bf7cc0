// Package packet is the MQTT 3.1.1 codec: the 14 control packets with the standard's validation
// rules (cited as [MQTT-x.y.z-n]) and a stream reader bounded by a maximum packet size.
//
// Contract: standard library only; decoding never panics, and an oversized remaining length is
// refused before anything is allocated for it.
package packet
