package broker

import (
	"bytes"

	"snbridge/mqtt/store"
)

// DetachedData returns, by client id, the value kept under key (LocalClient.PutData) by every
// persistent session that no client holds: the state an in-process adapter left with its
// sessions when it stopped (the MQTT-SN gateway's sleeping sensors, after a restart).
func (b *Broker) DetachedData(key string) map[string][]byte {
	out := map[string][]byte{}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, s := range b.sessions {
		s.mu.Lock()
		if v, ok := s.data[key]; ok && s.detached() {
			out[id] = append([]byte(nil), v...)
		}
		s.mu.Unlock()
	}
	return out
}

// LoseDetached ends a persistent session's wait for its client, as the client's loss would: if
// no client holds the session and it still keeps value under key, the key is deleted and will
// (nil: none) published [MQTT-3.1.2-8]. The session and its subscriptions stay. It reports
// whether it did so; false if a client holds the session meanwhile or the value changed. The
// MQTT-SN gateway uses it for a sensor whose sleep timer ran out while no gateway held it.
func (b *Broker) LoseDetached(clientID, key string, value []byte, will *Will) bool {
	var batch store.Batch
	b.mu.Lock()
	s := b.sessions[clientID]
	if s == nil {
		b.mu.Unlock()
		return false
	}
	s.mu.Lock()
	v, ok := s.data[key]
	if !ok || !s.detached() || !bytes.Equal(v, value) {
		s.mu.Unlock()
		b.mu.Unlock()
		return false
	}
	delete(s.data, key)
	if s.stored() {
		batch.DeleteData(s.id, key)
	}
	username := s.username
	s.mu.Unlock()
	b.mu.Unlock()
	if batch.Len() > 0 {
		if err := b.commitDurable(&batch); err != nil {
			b.log.Error("store: session data write failed", "client", clientID, "err", err)
		}
	}
	if will != nil {
		b.publishWill(clientID, username, will)
	}
	return true
}

// detached: persistent, held by no client (s.mu held).
func (s *session) detached() bool { return s.owner == nil && !s.gone && s.persistent }
