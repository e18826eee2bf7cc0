package packet_test

import (
	"fmt"

	"snbridge/mqttsn/packet"
)

func Example() {
	// Encode into a reused buffer.
	buf := make([]byte, 0, 256)
	buf, err := packet.Append(buf[:0], &packet.Publish{QoS: packet.QoS1, TopicID: 1, MsgID: 2, Data: []byte("21.5")})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% X\n", buf)

	// Decode whatever arrives.
	m, err := packet.Decode(buf)
	if err != nil {
		panic(err)
	}
	switch m := m.(type) {
	case *packet.Publish:
		fmt.Printf("%v topic %d msg %d: %s\n", m.QoS, m.TopicID, m.MsgID, m.Data)
	}

	// Bad input gets a specific error.
	_, err = packet.Decode([]byte{0x05, 0x16})
	fmt.Println(err)
	// Output:
	// 0B 0C 20 00 01 00 02 32 31 2E 35
	// QoS1 topic 1 msg 2: 21.5
	// mqtt-sn: decode PINGREQ: Length at offset 0: length field does not match datagram size
}
