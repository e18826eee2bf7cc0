package client_test

import (
	"bytes"
	"testing"
	"time"

	"snbridge/mqttsn/client"
	"snbridge/mqttsn/mqttsntest"
	"snbridge/mqttsn/packet"
)

// FuzzIncoming feeds arbitrary datagrams from the gateway to a client: the read goroutine must
// survive all of them (a panic there would take the user's program down) and keep answering.
// The input is a sequence of datagrams, each preceded by its length octet.
func FuzzIncoming(f *testing.F) {
	var seed []byte
	for _, name := range []string{
		"REGISTER from gateway id=5 msgid=7 topic=cmd/s1/led", "PUBLISH qos1 id=5 msgid=8 data=on",
		"PUBLISH qos2 id=5 msgid=9 data=off", "PUBLISH qos2 dup id=5 msgid=9 data=off", "PUBREL msgid=9",
		"PUBACK id=1 msgid=2 invalid topic id", "DISCONNECT", "PUBREC msgid=3", "ADVERTISE gw=1 duration=900",
	} {
		b := mqttsntest.Bytes(name)
		seed = append(append(seed, byte(len(b))), b...)
	}
	f.Add(seed)
	f.Add([]byte{3, 0x03, 0x05, 0x00, 2, 0x02, 0x17, 4, 0x04, 0x0F, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, script []byte) {
		cc, gc := memPipe()
		defer gc.Close()
		c, err := client.New(cc, memAddr("gateway"), client.Options{
			ClientID:      "sensor-1",
			MaxPacketSize: 1024,
			OnMessage:     func(client.Message) {},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Drain the client's replies as they come, so that its writes never wait for ours.
		pingresps := make(chan struct{}, len(script)+1)
		go func() {
			pingresp := mqttsntest.Bytes("PINGRESP")
			for {
				select {
				case b := <-gc.in:
					if bytes.Equal(b, pingresp) {
						pingresps <- struct{}{}
					}
				case <-gc.closed:
					return
				}
			}
		}()
		pings := 1 // the closing PINGREQ below, plus those of the script
		for len(script) > 0 {
			n := min(int(script[0]), len(script)-1)
			if m, err := packet.Decode(script[1 : 1+n]); err == nil && m.Type() == packet.TypePingreq {
				pings++
			}
			gc.WriteTo(script[1:1+n], nil)
			script = script[1+n:]
		}
		// The client still answers, so it handled everything before.
		gc.WriteTo(mqttsntest.Bytes("PINGREQ"), nil)
		for range pings {
			select {
			case <-pingresps:
			case <-time.After(5 * time.Second):
				t.Fatal("the client stopped answering")
			}
		}
	})
}
