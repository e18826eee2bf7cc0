package broker

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"snbridge/mqtt/mqtttest"
	"snbridge/mqtt/packet"
)

// FuzzConnection feeds arbitrary bytes after a valid CONNECT: the broker must neither panic nor
// hang, and the connection's goroutines must end when the client goes away.
func FuzzConnection(f *testing.F) {
	for _, fx := range mqtttest.Golden {
		f.Add(fx.Bytes)
	}
	f.Add([]byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x01})                        // SUBSCRIBE a QoS 1
	f.Add([]byte{0x32, 0x06, 0x00, 0x01, 'a', 0x00, 0x07, 'x', 0x62, 0x02, 0x00, 0x07}) // PUBLISH QoS 1, PUBREL
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := New(Options{SysInterval: -1, MaxPacketSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		sub, _, _ := b.ConnectLocal(LocalOptions{ClientID: "watcher", CleanSession: true}, &discardHandler{})
		sub.Subscribe("#", 2)
		server, client := net.Pipe()
		b.startConn(server, "fuzz")
		drained := make(chan struct{})
		go func() { io.Copy(io.Discard, client); close(drained) }()
		connect, _ := packet.Append(nil, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "fuzz", CleanSession: true,
			Will: &packet.Will{Topic: "w", Payload: []byte("x")}})
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(connect)
		client.Write(data)
		client.Close()
		<-drained
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}
