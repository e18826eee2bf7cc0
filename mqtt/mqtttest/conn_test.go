package mqtttest_test

import (
	"net"
	"testing"
	"time"

	"snbridge/mqtt/mqtttest"
	"snbridge/mqtt/packet"
)

// A fake server on a pipe answers as a script says; the helpers must see what it sent.
func TestConnConversation(t *testing.T) {
	client, server := net.Pipe()
	c := mqtttest.NewConn(t, client)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		r := packet.NewReader(server, 0)
		if p, err := r.ReadPacket(); err != nil || p.Type() != packet.CONNECT {
			t.Errorf("server read %v, %v", p, err)
			return
		}
		server.Write(mqtttest.Find("CONNACK accepted").Bytes)
		if _, err := r.ReadPacket(); err != nil { // the SUBSCRIBE
			t.Errorf("server: %v", err)
			return
		}
		server.Write(mqtttest.Find("SUBACK granted and refused").Bytes)
		// then hang up, as after a malformed packet
	}()
	c.Connect("c1")
	c.SendBytes(mqtttest.Find("SUBSCRIBE three filters").Bytes)
	c.Expect(mqtttest.Find("SUBACK granted and refused").Packet)
	c.Timeout = time.Second
	c.ExpectClosed()
	<-done
}
