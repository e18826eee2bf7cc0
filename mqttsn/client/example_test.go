package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
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

// Finding a gateway by broadcast (§6.1), and staying connected to one (§6.13).
func Example_discovery() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	search, err := net.ResolveUDPAddr("udp4", "255.255.255.255:1884")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.Dial(ctx, "udp4", search.String(), client.Options{
		ClientID:      "sensor-1",
		SearchAddr:    search, // SEARCHGW goes there; reconnections look there first too
		AutoReconnect: true,
		OnReconnect:   func() { log.Print("connected again") },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	gw, err := c.SearchGateway(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.UseGateway(gw.From); err != nil { // the GWINFO's sender
		log.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("connected to gateway", gw.GatewayID)
}
