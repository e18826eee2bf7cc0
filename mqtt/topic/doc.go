// Package topic validates MQTT topic names and filters and matches them: the subscription trie
// with '+', '#' and the '$' rule [MQTT-4.7.2-1], and the retained-message index.
package topic
