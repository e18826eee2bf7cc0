package broker

// Auth authenticates clients and authorises their topics. The broker calls it from many
// goroutines at once. Implementations: AllowAll (the default) and package broker/auth (password
// and ACL files).
type Auth interface {
	// Authenticate checks a CONNECT's credentials; username "" is an anonymous client. False
	// refuses the connection: CONNACK 4 when a user name was given, 5 otherwise.
	Authenticate(clientID, username string, password []byte) bool
	// CanPublish reports whether the client may publish to the topic name; a denied PUBLISH is
	// acknowledged as usual, then dropped and counted.
	CanPublish(clientID, username, topic string) bool
	// CanSubscribe reports whether the client may subscribe to the filter; denied: SUBACK 0x80.
	CanSubscribe(clientID, username, filter string) bool
}

// AllowAll is the Auth that accepts every client and every topic.
type AllowAll struct{}

func (AllowAll) Authenticate(string, string, []byte) bool { return true }
func (AllowAll) CanPublish(string, string, string) bool   { return true }
func (AllowAll) CanSubscribe(string, string, string) bool { return true }
