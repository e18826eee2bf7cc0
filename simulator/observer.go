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

// MQTTObserver observes through an MQTT 3.1.1 connection to any broker (paho client).
type MQTTObserver struct {
	c    mqtt.Client
	mu   sync.Mutex
	err  error
	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once
}

// DialMQTT connects an observer to broker (host:port) with a clean session.
func DialMQTT(broker, clientID string) (*MQTTObserver, error) {
	o := &MQTTObserver{done: make(chan struct{})}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + broker).
		SetClientID(clientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true). // handlers in arrival order: the checker judges order
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetMessageChannelDepth(10000).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			o.mu.Lock()
			o.err = fmt.Errorf("observer: connection to broker %s lost: %w", broker, err)
			o.mu.Unlock()
		})
	o.c = mqtt.NewClient(opts)
	t := o.c.Connect()
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		err := t.Error()
		if err == nil {
			err = errors.New("timeout")
		}
		return nil, fmt.Errorf("observer: connect to broker %s: %w", broker, err)
	}
	return o, nil
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

// Err reports a lost connection.
func (o *MQTTObserver) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Close disconnects; it is idempotent.
func (o *MQTTObserver) Close() error {
	o.once.Do(func() {
		close(o.done)
		o.c.Disconnect(250)
		o.wg.Wait()
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
