package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Record format, version 1. Every value starts with a version byte so a later build can tell an
// old record from a new one instead of misreading it.
//
//	sessions  clientID                 → ver
//	subs      clientID 0x00 filter     → ver qos
//	messages  clientID 0x00 seq(8, BE) → ver flags packetID(2, BE) uvarint(len topic) topic payload
//	retained  topic                    → ver flags packetID(2, BE) uvarint(0) payload   (topic is the key)
//	data      clientID 0x00 key        → ver value
//
// flags: bits 0–1 QoS, bit 2 retain, bit 3 dup, bit 4 received (PUBREC seen). Big-endian seq
// makes the byte order of keys the Seq order, so a cursor walks a client's queue in order.
const recordVersion = 1

const (
	flagQoSMask  = 0x03
	flagRetain   = 0x04
	flagDup      = 0x08
	flagReceived = 0x10
	flagsKnown   = flagQoSMask | flagRetain | flagDup | flagReceived
)

// Bucket names, also used in error messages.
const (
	bucketRetained = "retained"
	bucketSessions = "sessions"
	bucketSubs     = "subs"
	bucketMessages = "messages"
	bucketData     = "data"
	bucketMeta     = "meta"
)

// Limits of keys and values, those of bbolt (bucket.go MaxKeySize, MaxValueSize), enforced by
// both implementations so that a batch the memory store accepts is one bbolt accepts too.
const (
	maxKeySize   = 32768
	maxValueSize = 1<<31 - 2
	// maxClientID bounds a client id (an MQTT string is at most 65535 bytes [MQTT-1.5.3]); the
	// store needs room for the separator and the rest of composite keys within maxKeySize.
	maxClientID = 8192
)

// CorruptError reports a stored record that cannot be read: wrong version, truncated, or with an
// impossible field. Load returns it instead of guessing.
type CorruptError struct {
	Bucket string
	Key    []byte
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: bucket %q, key %s: %s", e.Bucket, formatKey(e.Bucket, e.Key), e.Reason)
}

// formatKey renders a key readably: composite keys as client and rest, message keys with the seq.
func formatKey(bucket string, key []byte) string {
	i := bytes.IndexByte(key, 0)
	if i < 0 || (bucket != bucketSubs && bucket != bucketMessages && bucket != bucketData) {
		return strconv.Quote(string(key))
	}
	client, rest := key[:i], key[i+1:]
	if bucket == bucketMessages && len(rest) == 8 {
		return fmt.Sprintf("client %q seq %d", client, binary.BigEndian.Uint64(rest))
	}
	return fmt.Sprintf("client %q %q", client, rest)
}

func corrupt(bucket string, key []byte, format string, args ...any) error {
	return &CorruptError{Bucket: bucket, Key: bytes.Clone(key), Reason: fmt.Sprintf(format, args...)}
}

// appendClientKey appends clientID 0x00 rest.
func appendClientKey(dst []byte, clientID string, rest string) []byte {
	dst = append(dst, clientID...)
	dst = append(dst, 0)
	return append(dst, rest...)
}

func appendMessageKey(dst []byte, clientID string, seq uint64) []byte {
	dst = append(dst, clientID...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// appendMessage encodes m; withTopic false leaves the topic out (retained: the key is the topic).
func appendMessage(dst []byte, m *Message, withTopic bool) []byte {
	flags := m.QoS & flagQoSMask
	if m.Retain {
		flags |= flagRetain
	}
	if m.Dup {
		flags |= flagDup
	}
	if m.Received {
		flags |= flagReceived
	}
	dst = append(dst, recordVersion, flags)
	dst = binary.BigEndian.AppendUint16(dst, m.PacketID)
	if withTopic {
		dst = binary.AppendUvarint(dst, uint64(len(m.Topic)))
		dst = append(dst, m.Topic...)
	} else {
		dst = append(dst, 0)
	}
	return append(dst, m.Payload...)
}

var errTruncated = errors.New("truncated record")

// decodeMessage decodes a message record; topic, when non-empty, is used instead of the stored
// one (retained records). The payload is copied: v belongs to the store.
func decodeMessage(v []byte, topic string) (Message, error) {
	if len(v) == 0 {
		return Message{}, errTruncated
	}
	if v[0] != recordVersion {
		return Message{}, fmt.Errorf("unsupported record version %d (this build reads %d)", v[0], recordVersion)
	}
	if len(v) < 5 {
		return Message{}, errTruncated
	}
	flags := v[1]
	if flags&^flagsKnown != 0 {
		return Message{}, fmt.Errorf("unknown flags %#02x", flags)
	}
	if flags&flagQoSMask == 3 {
		return Message{}, errors.New("QoS 3")
	}
	m := Message{
		QoS:      flags & flagQoSMask,
		Retain:   flags&flagRetain != 0,
		Dup:      flags&flagDup != 0,
		Received: flags&flagReceived != 0,
		PacketID: binary.BigEndian.Uint16(v[2:4]),
	}
	n, w := binary.Uvarint(v[4:])
	if w <= 0 {
		return Message{}, errors.New("bad topic length")
	}
	rest := v[4+w:]
	if n > uint64(len(rest)) {
		return Message{}, fmt.Errorf("topic length %d exceeds the %d bytes left", n, len(rest))
	}
	if topic != "" {
		if n != 0 {
			return Message{}, errors.New("retained record carries a topic")
		}
		m.Topic = topic
	} else {
		if n == 0 {
			return Message{}, errors.New("empty topic")
		}
		m.Topic = string(rest[:n])
	}
	if p := rest[n:]; len(p) > 0 {
		m.Payload = bytes.Clone(p)
	}
	return m, nil
}

// checkVersion checks a record of the form ver [body] with a body of exactly bodyLen bytes, or
// any length if bodyLen < 0.
func checkVersion(v []byte, bodyLen int) error {
	if len(v) == 0 {
		return errTruncated
	}
	if v[0] != recordVersion {
		return fmt.Errorf("unsupported record version %d (this build reads %d)", v[0], recordVersion)
	}
	if bodyLen >= 0 && len(v)-1 != bodyLen {
		return fmt.Errorf("record of %d bytes, want %d", len(v), bodyLen+1)
	}
	return nil
}

// String names the kind as the Batch method that makes it.
func (k OpKind) String() string {
	switch k {
	case OpPutRetained:
		return "PutRetained"
	case OpDeleteRetained:
		return "DeleteRetained"
	case OpPutSession:
		return "PutSession"
	case OpDeleteSession:
		return "DeleteSession"
	case OpPutSubscription:
		return "PutSubscription"
	case OpDeleteSubscription:
		return "DeleteSubscription"
	case OpPutMessage:
		return "PutMessage"
	case OpDeleteMessage:
		return "DeleteMessage"
	case OpPutData:
		return "PutData"
	case OpDeleteData:
		return "DeleteData"
	}
	return "OpKind(" + strconv.Itoa(int(k)) + ")"
}

// validate checks a whole batch before anything of it is applied, so that a bad op rejects the
// batch and changes nothing (and cannot fail a commit group shared with other callers).
func validate(b *Batch) error {
	for i := range b.Ops {
		if err := validateOp(&b.Ops[i]); err != nil {
			return fmt.Errorf("store: op %d (%s): %w", i, b.Ops[i].Kind, err)
		}
	}
	return nil
}

var (
	errNoClientID = errors.New("empty client id")
	errNoKey      = errors.New("empty key")
)

func validateOp(op *Op) error {
	switch op.Kind {
	case OpPutRetained, OpDeleteRetained:
		if op.Key == "" {
			return errors.New("empty topic")
		}
		if len(op.Key) > maxKeySize {
			return fmt.Errorf("topic of %d bytes exceeds %d", len(op.Key), maxKeySize)
		}
		if op.Kind == OpPutRetained {
			return validateMessage(&op.Msg, len(op.Key))
		}
		return nil
	case OpPutSession, OpDeleteSession:
		return validateClientID(op.ClientID)
	case OpPutSubscription, OpDeleteSubscription, OpPutData, OpDeleteData:
		if err := validateClientID(op.ClientID); err != nil {
			return err
		}
		if op.Key == "" {
			return errNoKey
		}
		if n := len(op.ClientID) + 1 + len(op.Key); n > maxKeySize {
			return fmt.Errorf("key of %d bytes exceeds %d", n, maxKeySize)
		}
		if op.Kind == OpPutSubscription && op.QoS > 2 {
			return fmt.Errorf("QoS %d", op.QoS)
		}
		if op.Kind == OpPutData && len(op.Value) > maxValueSize-1 {
			return fmt.Errorf("value of %d bytes exceeds %d", len(op.Value), maxValueSize-1)
		}
		return nil
	case OpPutMessage, OpDeleteMessage:
		if err := validateClientID(op.ClientID); err != nil {
			return err
		}
		if op.Kind == OpPutMessage {
			if op.Msg.Topic == "" {
				return errors.New("empty topic")
			}
			return validateMessage(&op.Msg, 0)
		}
		return nil
	}
	return errors.New("unknown op kind")
}

func validateClientID(id string) error {
	if id == "" {
		return errNoClientID
	}
	if len(id) > maxClientID {
		return fmt.Errorf("client id of %d bytes exceeds %d", len(id), maxClientID)
	}
	// The separator of composite keys; MQTT strings cannot contain U+0000 [MQTT-1.5.3-2].
	if strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("client id %q contains U+0000", id)
	}
	return nil
}

// validateMessage checks QoS and size; topicInKey is the length the key already carries.
func validateMessage(m *Message, topicInKey int) error {
	if m.QoS > 2 {
		return fmt.Errorf("QoS %d", m.QoS)
	}
	if len(m.Topic) > maxKeySize {
		return fmt.Errorf("topic of %d bytes exceeds %d", len(m.Topic), maxKeySize)
	}
	if n := 5 + binary.MaxVarintLen64 + len(m.Topic) + len(m.Payload) - topicInKey; n > maxValueSize {
		return fmt.Errorf("message of %d bytes exceeds %d", n, maxValueSize)
	}
	return nil
}
