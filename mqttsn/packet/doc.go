// Package packet is the MQTT-SN v1.2 codec: every message of the spec (§5.4) and the forwarder
// encapsulation (§5.5), decoded from one datagram and encoded by appending to a caller's buffer.
//
// Decoding: Decode(datagram) returns a newly allocated Message (*Publish, *Connect, …); a hot
// path keeps one value per type and calls its Unmarshal instead — (*Publish).Unmarshal allocates
// nothing. Byte fields of decoded messages (Publish.Data, WillMsg.Payload, …) alias the datagram.
// ParseHeader peeks at the type; DecapsulateForwarder opens a forwarder envelope without
// allocating.
//
// Encoding: Append(dst, m) or m.Append(dst) appends the message, choosing the 1-octet Length when
// the total is at most 255 octets and the 3-octet Length from 256 on (§5.2.1).
//
// Contract: standard library only; Decode never reads past the Length field, accepts the 3-octet
// Length for any size, rejects Length 0x00 and a Length that disagrees with the datagram (erratum
// E30), never panics and never allocates more than the datagram it is given. Every decoding error
// is a *DecodeError (type, field, offset) wrapping a sentinel for errors.Is: ErrTooShort,
// ErrLengthMismatch, ErrBadLength, ErrUnknownType, ErrWrongType, ErrMalformed. The decoder checks
// structure only; policy (which ids, QoS or client ids are acceptable) belongs to the session, so
// values a gateway must answer with a return code — an empty client id (E23), ProtocolId ≠ 0x01
// (E21), QoS −1 in SUBSCRIBE (E8), the reserved TopicIdType (E26) — decode.
//
// Errata followed (see MQTT-SN-1.2.md §6): E4 short topic names are exactly two octets; E10 MsgId
// is carried as given; E19 `02 07` and a Flags-only WILLTOPIC (and WILLTOPICUPD) mean "delete the
// will"; E29 WILLTOPICRESP/WILLMSGRESP without ReturnCode decode as Accepted and are always sent
// with it; DISCONNECT has a body of 0 or 2 octets only; PINGREQ may carry a ClientId.
package packet
