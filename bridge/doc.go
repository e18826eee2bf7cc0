// Package bridge links the local broker to upstream MQTT brokers: topic rules, reconnect with
// backoff, store-and-forward. It reaches the local broker through an interface it declares.
package bridge
