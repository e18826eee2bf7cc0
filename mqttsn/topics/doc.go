// Package topics is the MQTT-SN topic-ID registry: per-client normal ids, the predefined table
// (global and per client) and two-character short names.
//
// Contract:
//   - ids 0x0000 and 0xFFFF are never assigned and normal ids never collide with the predefined
//     ids the same client can use (MQTT-SN §6.7, §7.3, errata E11);
//   - a topic is looked up by (IDType, id), never by id alone (E12): a normal id 5 and a
//     predefined id 5 are different topics, although the allocator keeps them apart anyway;
//   - REGISTER of a name that is predefined for the client returns the predefined id (E12, EMQX);
//   - a short topic name is exactly two octets (E4); other lengths must be registered;
//   - a registry holds at most its limit of normal ids; past it Register returns ErrExhausted,
//     which the session answers with REGACK/SUBACK return code 0x01 ("congestion": the client may
//     retry after T_WAIT, e.g. once it has reconnected with CleanSession, §6.5 leaves the code open);
//   - the registry of a CleanSession-0 client is serialised with MarshalBinary into a compact form
//     (version, next id, entries) that the gateway keeps with the broker session (PutData).
//
// The predefined table reads the Eclipse Paho gateway's predefinedTopic.conf form
// (ParsePredefined): `ClientID, TopicName, TopicID` per line, `*` for every client (`COMMON` in
// older Paho releases' files, read the same), `#` comments.
// A Registry is not safe for concurrent use (a session owns it); a Predefined table is read-only
// once built and may be shared by every session.
package topics
