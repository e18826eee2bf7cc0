package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// serveWebSocket serves MQTT over WebSocket [MQTT-6.0.0-1..4]: the "mqtt" subprotocol is
// required and selected, binary frames carry the byte stream (a text frame closes the
// connection), and the connection is wrapped as a net.Conn so the TCP code serves it.
func (b *Broker) serveWebSocket(ln net.Listener, l Listener) {
	path := l.Path
	if path == "" {
		path = "/mqtt"
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		wc, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			Subprotocols:   []string{"mqtt"},
			OriginPatterns: []string{"*"}, // MQTT clients in browsers of any origin, as mosquitto
		})
		if err != nil {
			b.log.Info("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
			return
		}
		if wc.Subprotocol() != "mqtt" {
			wc.Close(websocket.StatusPolicyViolation, "the mqtt subprotocol is required")
			b.log.Info("websocket closed: client did not offer the mqtt subprotocol [MQTT-6.0.0-3]", "remote", r.RemoteAddr)
			return
		}
		wc.SetReadLimit(-1) // the MQTT reader enforces MaxPacketSize
		nc := websocket.NetConn(context.Background(), wc, websocket.MessageBinary)
		b.runConn(wsConn{nc, r.RemoteAddr}, l.Name)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if l.TLS != nil {
		ln = tls.NewListener(ln, l.TLS)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-b.quit:
			srv.Close()
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	srv.Close() // connections still in the handshake
	close(done)
	<-stopped
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !b.isClosed() {
		b.log.Error("websocket listener stopped", "listener", l.Name, "err", err)
	}
}

// wsConn reports the HTTP client's address as the remote address.
type wsConn struct {
	net.Conn
	remote string
}

func (c wsConn) RemoteAddr() net.Addr { return wsAddr(c.remote) }

type wsAddr string

func (a wsAddr) Network() string { return "websocket" }
func (a wsAddr) String() string  { return string(a) }
