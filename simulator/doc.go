// Package simulator drives swarms of virtual MQTT-SN sensors against any gateway: scenario,
// impairments, a checker that accounts for every message, and a report.
package simulator
