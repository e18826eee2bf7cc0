// Package store is the broker's persistence: retained messages, persistent sessions with their
// subscriptions, queued and in-flight messages, and opaque per-session data of adapters (the
// MQTT-SN topic registry, sleep state). It imports nothing of the module.
//
// Two implementations of Store: NewMemory (tests, and running with the store off) and Open, an
// embedded store on bbolt in one file (default data_dir/snbridge.db).
//
// # Contract
//
//   - Writes come in a Batch, applied in order and all or nothing. A batch with a bad op (empty
//     or NUL-containing client id, empty topic or key, QoS above 2, oversized key) is rejected
//     whole with an error naming the op, before anything is written.
//   - Commit returns when the batch is durable: it survives kill -9 of the process, and bbolt has
//     fsynced it. Commits from concurrent goroutines share one transaction and one fsync (group
//     commit). Commit of an empty batch is a barrier for earlier CommitLazy batches.
//   - CommitLazy returns at once; the batch is written, in queue order, with the next group or
//     Options.LazyDelay later, and at the latest by Close. Use it where a crash costs only a
//     redelivery (deleting an acknowledged message).
//   - The caller may reuse the Batch and every byte slice in it as soon as either call returns.
//   - A subscription, message or data write for a client without a session creates the session
//     record; DeleteSession removes the session with all its subscriptions, messages and data.
//   - Load visits retained messages by topic, then sessions by client id, each followed by its
//     messages in Seq order and its data by key. A record that cannot be read (another version,
//     truncated) stops Load with a *CorruptError naming bucket and key; nothing panics.
//   - Stats is a counter and a stat(2) of the file: cheap at any $SYS interval.
//   - Close writes what is queued, stops the committer goroutine and closes the file; it is
//     idempotent and everything after it returns ErrClosed.
//
// # Layout (bbolt, format 1)
//
// Buckets retained (topic), sessions (client id), subs (client id 0x00 filter), messages
// (client id 0x00 big-endian seq, so key order is Seq order), data (client id 0x00 key), meta
// (format version). Values are a compact binary encoding that starts with a record version byte;
// see codec.go.
package store
