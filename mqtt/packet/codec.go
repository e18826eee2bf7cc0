package packet

// Append appends the encoding of p to dst and returns the extended buffer. It validates p as a
// decoder would and returns an error (dst unchanged) for a packet that may not be sent.
func Append(dst []byte, p Packet) ([]byte, error) {
	return dst, ErrNotImplemented
}

// Decode decodes one packet from its fixed header's first byte and its body (the bytes after the
// remaining length). Byte slices of the result (payloads, passwords) are copies; body may be
// reused afterwards.
func Decode(fixedHeader byte, body []byte) (Packet, error) {
	return nil, ErrNotImplemented
}
