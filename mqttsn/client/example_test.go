package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"snbridge/mqttsn/client"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, "udp", "gateway.local:1884", client.Options{
		ClientID:     "sensor-1",
		KeepAlive:    60 * time.Second,
		CleanSession: true,
		Will:         &client.Will{Topic: "sensors/s1/status", Payload: []byte("offline"), QoS: client.QoS1, Retain: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	// Registered on first use, then retransmitted with DUP until the gateway acknowledges it.
	if err := c.Publish(ctx, "sensors/s1/temp", []byte("21.5"), client.QoS1, false); err != nil {
		log.Fatal(err)
	}

	// Handlers run on the client's dispatch goroutine, in arrival order.
	_, err = c.Subscribe(ctx, "cmd/s1/+", client.QoS1, func(m client.Message) {
		fmt.Printf("%s: %s\n", m.Topic, m.Payload)
	})
	if err != nil {
		log.Fatal(err)
	}

	// Sleep for up to five minutes; Poll fetches what the gateway kept meanwhile.
	if err := c.Sleep(ctx, 5*time.Minute); err != nil {
		log.Fatal(err)
	}
	if err := c.Poll(ctx); err != nil {
		log.Fatal(err)
	}
	_ = c.Disconnect(ctx)
}
