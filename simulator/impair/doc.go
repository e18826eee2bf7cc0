// Package impair degrades a datagram link the way a radio network does: loss, delay with jitter,
// duplication and reordering, drawn from a seeded generator so that a run can be reproduced.
//
// Link is the sans-I/O core (Push a datagram at a time, Pop what is due later), deterministic for
// a seed and testable without a clock. Conn wraps any net.PacketConn with one Link per direction;
// every queue is bounded (Config.Queue) and what overflows is dropped and counted, as a full
// socket buffer would.
package impair
