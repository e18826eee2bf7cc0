// Package packet is the MQTT 3.1.1 codec: the 14 control packets of the OASIS standard with its
// validation rules (cited as [MQTT-x.y.z-n], or §x.y where the standard states a rule without a
// number) and a stream Reader bounded by a maximum packet size.
//
// Encoding: Append(dst, p) appends p to the caller's buffer and allocates nothing when it has
// room. It refuses, with dst unchanged, any packet a receiver would refuse.
//
// Decoding: Decode(fixedHeader, body) decodes one framed packet into a new value that owns its
// bytes. A Reader frames packets from a stream: ReadPacket returns packets the caller owns;
// ReadReused decodes into values the Reader owns (valid until the next call) and allocates
// nothing for a PUBLISH to a recently seen topic or for an acknowledgement.
//
// Errors: every malformed packet is an *Error that wraps ErrMalformed and names the rule broken;
// the receiver closes the connection [MQTT-4.8.0-1]. A CONNECT of another protocol level wraps
// ErrUnsupportedLevel instead (and Decode returns the *Connect read so far), so a broker answers
// CONNACK 0x01 [MQTT-3.1.2-2]. A Reader refuses a remaining length above its maximum with
// ErrTooLarge before reading or allocating for it.
//
// Policy is not the codec's: it checks topic filters only for UTF-8 and length (wildcard
// placement is mqtt/topic's, so a broker may answer SUBACK 0x80) and does not judge client
// identifiers [MQTT-3.1.3-5..9].
//
// Contract: standard library only; decoding never panics; no global state.
package packet
