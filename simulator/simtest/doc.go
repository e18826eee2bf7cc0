// Package simtest holds the peers the simulator's tests (and the cmd tests) run against, each
// on free loopback ports for the length of one test and stopped by its cleanup:
//
//   - Mosquitto: Debian's mosquitto broker (installed by make test-deps);
//   - StartSnbridge: the snbridge daemon, built from cmd/snbridge, with its MQTT broker and
//     MQTT-SN gateway and a private data directory;
//   - StartFakeGateway: a small MQTT-SN gateway in the test's own process over a Hub (an
//     in-memory broker) or a PahoBroker, whose Faults break a guarantee on purpose so that tests
//     can show the checker noticing.
//
// Imported by tests only.
package simtest
