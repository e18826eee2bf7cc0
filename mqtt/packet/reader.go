package packet

import "io"

// Reader reads packets from a byte stream (a TCP connection). It refuses a remaining length
// above its maximum packet size before allocating anything, and reuses one buffer.
type Reader struct {
	r   io.Reader
	max int
	buf []byte
}

// NewReader returns a Reader of r that accepts packets whose remaining length is at most
// maxPacketSize bytes (0 or less: the protocol maximum, 268 435 455).
func NewReader(r io.Reader, maxPacketSize int) *Reader {
	return &Reader{r: r, max: maxPacketSize}
}

// ReadPacket reads the next packet. The result is the caller's: it shares nothing with the
// Reader. At the end of the stream between packets it returns io.EOF; inside a packet,
// io.ErrUnexpectedEOF.
func (r *Reader) ReadPacket() (Packet, error) {
	return nil, ErrNotImplemented
}

// ReadReused reads the next packet into values owned by the Reader: the packet, and a PUBLISH's
// Payload, are valid only until the next call. It allocates nothing for a PUBLISH whose topic
// was seen recently, nor for acknowledgements — the broker's hot path.
func (r *Reader) ReadReused() (Packet, error) {
	return nil, ErrNotImplemented
}
