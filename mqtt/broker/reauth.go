package broker

import "snbridge/mqtt/store"

// Reauthorize checks the subscriptions of every session that has a client (connected, or an
// in-process client asleep) against Auth again, after its rules changed (SIGHUP reloads the
// ACL file): a subscription no longer allowed is removed, as if unsubscribed, and logged; the
// client is not told (MQTT 3.1.1 has no way to). Offline sessions are checked when their client
// comes back, with the user name it connects with. It returns the number removed.
func (b *Broker) Reauthorize() int {
	b.mu.Lock()
	sessions := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		sessions = append(sessions, s)
	}
	b.mu.Unlock()
	var batch store.Batch
	n := 0
	for _, s := range sessions {
		s.mu.Lock()
		if s.owner != nil && !s.gone {
			n += b.revokeLocked(s, s.username, &batch)
		}
		s.mu.Unlock()
	}
	if batch.Len() > 0 {
		if err := b.commitDurable(&batch); err != nil {
			b.log.Error("store: unsubscribe write failed", "err", err)
		}
	}
	return n
}

// revokeLocked removes the subscriptions of s that Auth no longer allows for username; s.mu is
// held. Store deletes go to batch.
func (b *Broker) revokeLocked(s *session, username string, batch *store.Batch) int {
	n := 0
	for f := range s.subs {
		if b.auth.CanSubscribe(username, s.id, f) {
			continue
		}
		delete(s.subs, f)
		b.subs.Unsubscribe(f, s)
		if s.stored() {
			batch.DeleteSubscription(s.id, f)
		}
		b.log.Warn("subscription removed: no longer allowed", "client", s.id, "user", username, "filter", f)
		n++
	}
	return n
}
