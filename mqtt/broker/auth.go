package broker

import "strings"

// Auth authenticates clients and authorises their topics; *auth.Auth (package broker/auth:
// password and ACL files) implements it. The broker calls it from many goroutines at once. An
// empty username is an anonymous client.
type Auth interface {
	// Authenticate checks a CONNECT's credentials. False refuses the connection: CONNACK 4 when
	// a user name was given, 5 otherwise.
	Authenticate(username, password, clientID string) bool
	// CanPublish reports whether the client may publish to the topic name; a denied PUBLISH is
	// acknowledged as usual, then dropped and counted. It is not asked about $SYS topics,
	// which no client may publish to.
	CanPublish(username, clientID, topic string) bool
	// CanSubscribe reports whether the client may subscribe to the filter; denied: SUBACK 0x80.
	CanSubscribe(username, clientID, filter string) bool
}

// AllowAll is the Auth that accepts every client and every topic (the default).
type AllowAll struct{}

func (AllowAll) Authenticate(string, string, string) bool { return true }
func (AllowAll) CanPublish(string, string, string) bool   { return true }
func (AllowAll) CanSubscribe(string, string, string) bool { return true }

// canPublish is Auth.CanPublish behind the broker's own rule: the $SYS topics are the
// broker's, and a client's PUBLISH (or will) to one is denied, as mosquitto does, so that no
// client can pass off a value of its own as the broker's.
func (b *Broker) canPublish(username, clientID, topic string) bool {
	if topic == "$SYS" || strings.HasPrefix(topic, "$SYS/") {
		return false
	}
	return b.auth.CanPublish(username, clientID, topic)
}
