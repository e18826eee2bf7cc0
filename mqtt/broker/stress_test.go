package broker

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snbridge/mqtt/store"
)

// ackingHandler acknowledges every delivery from another goroutine, as the gateway's shards do.
type ackingHandler struct {
	acks chan uint16
}

func (h *ackingHandler) Deliver(_ Message, pid uint16) {
	if pid != 0 {
		select {
		case h.acks <- pid:
		default:
		}
	}
}
func (h *ackingHandler) Closed(error) {}

// Many in-process and TCP clients publish, subscribe, sleep, wake, take each other over and go
// away at once: no deadlock, no race, no leak, and a clean shutdown.
func TestConcurrentClientsStress(t *testing.T) {
	b, addr := startBroker(t, Options{Store: store.NewMemory(), MaxQueued: 50})
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Second)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for time.Now().Before(deadline) {
				h := &ackingHandler{acks: make(chan uint16, 256)}
				id := fmt.Sprintf("c%d", r.IntN(12)) // shared ids: takeovers
				lc, _, err := b.ConnectLocal(LocalOptions{ClientID: id, CleanSession: r.IntN(2) == 0, QueueQoS0: true,
					Will: &Will{Topic: "will/" + id, QoS: 1}}, h)
				if err != nil {
					t.Error(err)
					return
				}
				lc.Subscribe(fmt.Sprintf("s/%d/#", r.IntN(4)), byte(r.IntN(3)))
				for i := 0; i < 20; i++ {
					switch r.IntN(6) {
					case 0:
						lc.Suspend()
					case 1:
						lc.Resume()
					case 2:
						lc.PutData("k", []byte{byte(i)})
					default:
						lc.Publish(Message{Topic: fmt.Sprintf("s/%d/x", r.IntN(4)), Payload: []byte("p"), QoS: byte(r.IntN(3)), Retain: r.IntN(5) == 0}, nil)
					}
				drain:
					for {
						select {
						case pid := <-h.acks:
							lc.Ack(pid)
						default:
							break drain
						}
					}
				}
				if r.IntN(2) == 0 {
					lc.Lost()
				} else {
					lc.Disconnect()
				}
			}
		}()
	}
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				// Not newPaho: a takeover may close the connection before CONNACK.
				o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("c%d", i%12)).
					SetCleanSession(i%2 == 0).SetProtocolVersion(4).SetAutoReconnect(false)
				c := paho.NewClient(o)
				if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					continue
				}
				c.Subscribe("s/#", 1, nil).WaitTimeout(time.Second)
				c.Publish("s/1/tcp", 1, false, "t").WaitTimeout(time.Second)
				c.Disconnect(0)
			}
		}()
	}
	wg.Wait()
	// Every client has gone: only persistent sessions remain, offline, and the trie holds
	// exactly their subscriptions.
	waitFor(t, "clean sessions discarded", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		subs := 0
		for _, s := range b.sessions {
			s.mu.Lock()
			ok := s.persistent && s.owner == nil
			subs += len(s.subs)
			s.mu.Unlock()
			if !ok {
				return false
			}
		}
		return subs == b.subs.Len()
	})
}
