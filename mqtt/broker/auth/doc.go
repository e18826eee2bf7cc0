// Package auth authenticates MQTT clients and authorises what they publish and subscribe, with
// mosquitto's configuration forms: allow_anonymous, a password file of "user:bcrypt-hash" lines,
// and an ACL file of "user", "topic" and "pattern" lines.
//
// The broker uses an *Auth through a small interface of its own:
//
//	Authenticate(username, password, clientID string) bool
//	CanPublish(username, clientID, topic string) bool
//	CanSubscribe(username, clientID, filter string) bool
//
// An empty username means a client that sent none (anonymous). Without a password file every
// user name is accepted and only selects ACL rules, as in mosquitto. Without an ACL file every
// client may publish and subscribe to anything; with one, whatever no rule grants is denied.
//
// ACL rules only grant: mosquitto's "deny" access is refused with an error naming the line, not
// silently ignored. The words of a line may be separated by spaces or tabs; a topic is the rest of
// the line, so it may contain spaces.
//
// Reload (on SIGHUP) reads the files again and swaps the tables in one atomic step; if a file is
// bad the old tables stay and the error names the file, line and problem. All methods are safe
// for concurrent use; the checks take no lock.
package auth
