// Package store is the broker's persistence: an interface and its embedded implementation on
// bbolt, holding retained messages, persistent sessions, subscriptions and queued messages.
package store
