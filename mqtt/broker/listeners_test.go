package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqtt/packet"
)

// testCert makes a CA-signed certificate for 127.0.0.1 (server) or a client certificate.
func testCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA, client bool) (tls.Certificate, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "snbridge test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.ExtKeyUsage = nil
		ca, caKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert, key
}

func TestTLSListenerWithClientCertificates(t *testing.T) {
	_, caCert, caKey := testCert(t, nil, nil, true, false)
	serverCert, _, _ := testCert(t, caCert, caKey, false, false)
	clientCert, _, _ := testCert(t, caCert, caKey, false, true)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, Options{Listeners: []Listener{{Name: "mqtt-tls", Listener: ln, TLS: &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	}}}})
	connect := func(certs []tls.Certificate) error {
		o := paho.NewClientOptions().AddBroker("ssl://" + ln.Addr().String()).SetClientID("tls").
			SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: certs}).SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
		c := paho.NewClient(o)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() != nil {
			return tok.Error()
		}
		rec := newReceived()
		must(t, c.Subscribe("tls/t", 1, rec.handler))
		must(t, c.Publish("tls/t", 1, false, "over tls"))
		rec.wait(t, 1)
		c.Disconnect(50)
		return nil
	}
	if err := connect([]tls.Certificate{clientCert}); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if err := connect(nil); err == nil {
		t.Fatal("connected without the required client certificate")
	}
}

func TestWebSocketListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, tcpAddr := startBroker(t, Options{Listeners: []Listener{{Name: "ws", Listener: ln, WebSocket: true}}})
	o := paho.NewClientOptions().AddBroker("ws://" + ln.Addr().String() + "/mqtt").SetClientID("ws").SetAutoReconnect(false)
	ws := paho.NewClient(o)
	if tok := ws.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("websocket connect: %v", tok.Error())
	}
	defer ws.Disconnect(50)
	rec := newReceived()
	must(t, ws.Subscribe("ws/#", 2, rec.handler))
	tcp := newPaho(t, tcpAddr, "tcp", true)
	big := make([]byte, 100_000) // spans many frames
	must(t, tcp.Publish("ws/big", 2, false, big))
	must(t, ws.Publish("ws/small", 1, false, "from ws"))
	msgs := rec.wait(t, 2)
	if len(msgs[0].Payload()) != len(big) || string(msgs[1].Payload()) != "from ws" {
		t.Fatalf("got %d bytes and %q", len(msgs[0].Payload()), msgs[1].Payload())
	}
}

func TestMaxConnectionsAndPacketSize(t *testing.T) {
	_, addr := startBroker(t, Options{MaxConnections: 1, MaxPacketSize: 1000})
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "one", CleanSession: true})
	// Beyond MaxConnections a CONNECT gets CONNACK 3, server unavailable [MQTT-3.2.2-5].
	c2 := dialRaw(t, addr)
	c2.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "two", CleanSession: true})
	if p, err := c2.read(); err != nil {
		t.Fatalf("no CONNACK beyond max connections: %v", err)
	} else if ack, ok := p.(*packet.Connack); !ok || ack.ReturnCode != packet.ServerUnavailable {
		t.Fatalf("got %#v, want CONNACK 3", p)
	}
	c2.expectClosed()
	// A packet over the limit disconnects its sender.
	big := append([]byte{0x30, 0xe9, 0x07, 0x00, 0x01, 'x'}, make([]byte, 998)...) // PUBLISH, remaining length 1001
	c.nc.Write(big)
	c.expectClosed()
}
