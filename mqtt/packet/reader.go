package packet

import "io"

// Reader reads packets from a byte stream (a TCP connection). It reads ahead into one buffer that
// it reuses, and refuses a remaining length above its maximum packet size before allocating
// anything for it. A Reader is not safe for concurrent use.
type Reader struct {
	src        io.Reader
	max        int
	buf        []byte // buf[start:end] is read but not yet consumed
	start, end int
	size       int   // initial buffer size
	err        error // sticky: the stream is unusable after a framing or read error

	topics topicCache
	mode   decodeMode // ReadReused's: alias the buffer, intern topics
	reused struct {   // ReadReused's packets
		connect     Connect
		connack     Connack
		publish     Publish
		puback      Puback
		pubrec      Pubrec
		pubrel      Pubrel
		pubcomp     Pubcomp
		subscribe   Subscribe
		suback      Suback
		unsubscribe Unsubscribe
		unsuback    Unsuback
		pingreq     Pingreq
		pingresp    Pingresp
		disconnect  Disconnect
	}
}

const (
	initialReadBuffer = 512     // most MQTT packets are small; idle connections stay cheap
	keepReadBuffer    = 1 << 16 // a larger buffer, grown for one big packet, is dropped afterwards
)

// NewReader returns a Reader of r that accepts packets whose remaining length is at most
// maxPacketSize bytes (0 or less: the protocol maximum, MaxRemainingLength).
func NewReader(r io.Reader, maxPacketSize int) *Reader {
	return NewReaderSize(r, maxPacketSize, initialReadBuffer)
}

// NewReaderSize is NewReader with a read buffer of bufSize bytes rather than 512, allocated at
// the first read: a busy connection reads more packets per system call.
func NewReaderSize(r io.Reader, maxPacketSize, bufSize int) *Reader {
	if maxPacketSize <= 0 || maxPacketSize > MaxRemainingLength {
		maxPacketSize = MaxRemainingLength
	}
	return &Reader{src: r, max: maxPacketSize, size: max(bufSize, 16)}
}

// ReadPacket reads the next packet. The result is the caller's: it shares nothing with the
// Reader. At the end of the stream between packets it returns io.EOF; inside a packet,
// io.ErrUnexpectedEOF. Errors from decoding are those of Decode (the Reader stays usable after
// them); a framing error (ErrTooLarge, a bad remaining length) or a read error ends the stream.
func (r *Reader) ReadPacket() (Packet, error) {
	h, body, err := r.next()
	if err != nil {
		return nil, err
	}
	return Decode(h, body)
}

// ReadReused reads the next packet into values owned by the Reader: the packet, and the byte
// slices in it (a PUBLISH's Payload), are valid only until the next call. Topic names are
// interned. It allocates nothing for a PUBLISH to a topic seen recently nor for an
// acknowledgement: the broker's hot path. Errors are those of ReadPacket.
func (r *Reader) ReadReused() (Packet, error) {
	h, body, err := r.next()
	if err != nil {
		return nil, err
	}
	if err := checkFlags(Type(h>>4), h&0x0f); err != nil {
		return nil, err
	}
	p := r.reusedPacket(Type(h >> 4))
	if r.mode.topics == nil {
		r.mode = decodeMode{alias: true, topics: &r.topics}
	}
	err = p.decode(h&0x0f, body, &r.mode)
	if err != nil && !isUnsupportedLevel(err) {
		return nil, err
	}
	return p, err
}

func (r *Reader) reusedPacket(t Type) Packet {
	u := &r.reused
	switch t {
	case CONNECT:
		return &u.connect
	case CONNACK:
		return &u.connack
	case PUBLISH:
		return &u.publish
	case PUBACK:
		return &u.puback
	case PUBREC:
		return &u.pubrec
	case PUBREL:
		return &u.pubrel
	case PUBCOMP:
		return &u.pubcomp
	case SUBSCRIBE:
		return &u.subscribe
	case SUBACK:
		return &u.suback
	case UNSUBSCRIBE:
		return &u.unsubscribe
	case UNSUBACK:
		return &u.unsuback
	case PINGREQ:
		return &u.pingreq
	case PINGRESP:
		return &u.pingresp
	default:
		return &u.disconnect
	}
}

// next frames the next packet: its first byte and its body, which aliases the buffer until the
// following call.
func (r *Reader) next() (byte, []byte, error) {
	if r.err != nil {
		return 0, nil, r.err
	}
	if r.end-r.start < 2 {
		if err := r.fill(2); err != nil {
			return 0, nil, r.fail(err)
		}
	}
	var n, used int
	for {
		var err error
		n, used, err = parseRemainingLength(r.buf[r.start+1 : r.end])
		if err != nil {
			return 0, nil, r.fail(err)
		}
		if used > 0 {
			break
		}
		if err := r.fill(r.end - r.start + 1); err != nil {
			return 0, nil, r.fail(err)
		}
	}
	h := r.buf[r.start]
	if n > r.max {
		return 0, nil, r.fail(tooLarge(Type(h>>4), n, r.max))
	}
	total := 1 + used + n
	if r.end-r.start < total {
		if err := r.fill(total); err != nil {
			return 0, nil, r.fail(err)
		}
	}
	body := r.buf[r.start+1+used : r.start+total : r.start+total]
	r.start += total
	return h, body, nil
}

// fill reads until at least need bytes are buffered. It moves the buffered bytes to the front
// and grows the buffer geometrically as bytes arrive, so a peer announcing a large packet and
// sending nothing costs nothing; each read takes as much as the source gives.
func (r *Reader) fill(need int) error {
	switch {
	case r.buf == nil:
		r.buf = make([]byte, r.size)
	case len(r.buf) > max(keepReadBuffer, r.size) && need <= r.size:
		r.buf = r.moveTo(make([]byte, r.size))
	case r.start > 0:
		r.moveTo(r.buf)
	}
	for empty := 0; r.end-r.start < need; {
		if r.end == len(r.buf) {
			r.buf = r.moveTo(make([]byte, min(need, 2*len(r.buf))))
		}
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			if r.end-r.start >= need {
				return nil // the next read reports err again
			}
			if err == io.EOF {
				if r.end-r.start == 0 {
					return io.EOF
				}
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if n == 0 {
			if empty++; empty > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// moveTo copies the buffered bytes to the front of buf and returns buf.
func (r *Reader) moveTo(buf []byte) []byte {
	n := copy(buf, r.buf[r.start:r.end])
	r.start, r.end = 0, n
	return buf
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// Buffered returns the number of bytes read from the source but not yet consumed.
func (r *Reader) Buffered() int { return r.end - r.start }

func tooLarge(t Type, n, limit int) error {
	return &tooLargeError{t: t, n: n, max: limit}
}

type tooLargeError struct {
	t      Type
	n, max int
}

func (e *tooLargeError) Error() string {
	return "mqtt: " + e.t.String() + " remaining length " + itoa(e.n) + " exceeds the maximum packet size " + itoa(e.max)
}

func (e *tooLargeError) Unwrap() error { return ErrTooLarge }
