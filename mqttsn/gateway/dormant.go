package gateway

import (
	"slices"
	"time"

	"snbridge/mqttsn/session"
)

// DetachedSessions is what a Broker may offer besides Connect (broker.DetachedData and
// LoseDetached): the persistent sessions no client holds, with what they keep under a key, and
// the loss of one in its client's absence. With it the gateway times out the sensors that were
// asleep when it last stopped even if they never come back: when its sleep timer runs out such
// a sensor is lost and its will published (§6.14), as if the gateway had kept running.
type DetachedSessions interface {
	DetachedData(key string) map[string][]byte
	// LoseDetached deletes key and publishes will if no client holds the session and it still
	// keeps value under key, at once with respect to Connect; it reports whether it did.
	LoseDetached(clientID, key string, value []byte, will *Will) bool
}

// watchDormant loses, at the end of its sleep timer, each sensor that was asleep when the
// gateway last stopped and has not come back since: one that came back is held by its session
// again, and the broker leaves it alone (LoseDetached). It returns when stop is closed.
func (g *Gateway) watchDormant(stop <-chan struct{}) {
	ds, ok := g.broker.(DetachedSessions)
	if !ok {
		return
	}
	type sleeper struct {
		id    string
		sleep []byte
		at    time.Time
	}
	var sleepers []sleeper
	for id, v := range ds.DetachedData(session.DataSleep) {
		if at, ok := session.SleepDeadline(v); ok {
			sleepers = append(sleepers, sleeper{id, v, at})
		}
	}
	if len(sleepers) == 0 {
		return
	}
	wills := ds.DetachedData(session.DataWill) // a detached session cannot change its will
	slices.SortFunc(sleepers, func(a, b sleeper) int { return a.at.Compare(b.at) })
	for _, s := range sleepers {
		t := time.NewTimer(time.Until(s.at))
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		will, _ := session.StoredWill(wills[s.id])
		if ds.LoseDetached(s.id, session.DataSleep, s.sleep, will) {
			g.stats.lost.Add(1)
			g.log.Info("mqtt-sn client lost", "client", s.id, "reason", "asleep when the gateway stopped, its sleep timer ran out")
		}
	}
}
