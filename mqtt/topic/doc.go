// Package topic validates MQTT topic names and filters and matches them: the subscription trie
// with '+', '#' and the '$' rule [MQTT-4.7.2-1], and the retained-message index.
//
// Contract: standard library only. ValidateName and ValidateFilter return one of the package's
// sentinel errors naming the rule broken. Tree and Retained are safe for concurrent use; Match
// takes a read lock only and appends into the caller's slice, so a publish allocates nothing.
// Tree.Match yields each subscriber once, with the highest QoS among its overlapping filters.
package topic
