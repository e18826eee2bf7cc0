package simulator

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Observer is the broker side of a run: it sees what the sensors publish and publishes the
// commands to the actuators. MQTTObserver is the real one; tests may plug in another.
type Observer interface {
	// Subscribe receives every message matching the filters; handler may be called from
	// several goroutines at once.
	Subscribe(filters []string, handler func(topic string, payload []byte)) error
	// Publish sends a command; done is called once the broker accepted it (PUBACK, PUBCOMP,
	// or written for QoS 0) or failed, possibly from another goroutine.
	Publish(topic string, qos byte, payload []byte, done func(error))
	// Err reports a failure that ended the observer (a lost connection), nil while healthy.
	Err() error
	Close() error
}

// MQTTObserver observes through an MQTT 3.1.1 connection to any broker (paho client). Its
// session is persistent and it reconnects when the connection is lost, so that a run survives
// a restart of the broker (what the broker acknowledged and queued for the observer meanwhile
// still reaches the checker); Close deletes the session from the broker.
type MQTTObserver struct {
	c        mqtt.Client
	broker   string
	clientID string
	mu       sync.Mutex
	lost     error     // why the connection was lost, while it is
	lostAt   time.Time // since when
	wg       sync.WaitGroup
	done     chan struct{}
	once     sync.Once
}

// MaxOutage is how long the observer may stay disconnected from the broker before Err reports
// the run broken: long enough for a broker restart.
const MaxOutage = 30 * time.Second

// DialMQTT connects an observer to broker (host:port) with a persistent session under
// clientID, which should be unique to the run.
func DialMQTT(broker, clientID string) (*MQTTObserver, error) {
	o := &MQTTObserver{broker: broker, clientID: clientID, done: make(chan struct{})}
	opts := observerOptions(broker, clientID, false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(time.Second).
		SetResumeSubs(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			o.mu.Lock()
			o.lost = fmt.Errorf("observer: connection to broker %s lost: %w", broker, err)
			o.lostAt = time.Now()
			o.mu.Unlock()
		}).
		SetOnConnectHandler(func(mqtt.Client) {
			o.mu.Lock()
			o.lost = nil
			o.mu.Unlock()
		})
	o.c = mqtt.NewClient(opts)
	if err := connect(o.c); err != nil {
		return nil, fmt.Errorf("observer: connect to broker %s: %w", broker, err)
	}
	return o, nil
}

func observerOptions(broker, clientID string, clean bool) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().
		AddBroker("tcp://" + broker).
		SetClientID(clientID).
		SetCleanSession(clean).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true). // handlers in arrival order: the checker judges order
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetMessageChannelDepth(10000)
}

func connect(c mqtt.Client) error {
	t := c.Connect()
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("timeout")
	}
	return t.Error()
}

// Subscribe subscribes at QoS 2 so that no message is downgraded on its way to the checker.
func (o *MQTTObserver) Subscribe(filters []string, handler func(topic string, payload []byte)) error {
	if len(filters) == 0 {
		return nil
	}
	m := make(map[string]byte, len(filters))
	for _, f := range filters {
		m[f] = 2
	}
	t := o.c.SubscribeMultiple(m, func(_ mqtt.Client, msg mqtt.Message) {
		handler(msg.Topic(), msg.Payload())
	})
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return fmt.Errorf("observer: subscribe %s: %v", strings.Join(filters, ", "), t.Error())
	}
	if st, ok := t.(*mqtt.SubscribeToken); ok {
		for f, q := range st.Result() {
			if q > 2 {
				return fmt.Errorf("observer: broker refused subscription %q", f)
			}
		}
	}
	return nil
}

// Publish publishes a command and reports its acknowledgement.
func (o *MQTTObserver) Publish(topic string, qos byte, payload []byte, done func(error)) {
	t := o.c.Publish(topic, qos, false, payload)
	o.wg.Go(func() {
		select {
		case <-t.Done():
			done(t.Error())
		case <-o.done:
			done(errors.New("observer closed"))
		}
	})
}

// Err reports a connection lost for longer than MaxOutage.
func (o *MQTTObserver) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lost != nil && time.Since(o.lostAt) > MaxOutage {
		return fmt.Errorf("%w (for more than %v)", o.lost, MaxOutage)
	}
	return nil
}

// Close disconnects and deletes the observer's session from the broker (a clean-session
// connect under the same client id), so that the broker queues nothing more for it; it is
// idempotent.
func (o *MQTTObserver) Close() error {
	o.once.Do(func() {
		close(o.done)
		o.c.Disconnect(250)
		o.wg.Wait()
		c := mqtt.NewClient(observerOptions(o.broker, o.clientID, true))
		if connect(c) == nil {
			c.Disconnect(250)
		}
	})
	return nil
}

// filterOf turns a topic pattern into the MQTT filter that matches every sensor's topic: a level
// holding a placeholder becomes "+".
func filterOf(pattern string) string {
	levels := strings.Split(pattern, "/")
	for i, l := range levels {
		if strings.Contains(l, "{") {
			levels[i] = "+"
		}
	}
	return strings.Join(levels, "/")
}
