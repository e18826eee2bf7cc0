package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var benchPayload = make([]byte, 64)

// runCommitters splits b.N one-message commits among n goroutines and reports msgs/s.
func runCommitters(b *testing.B, n int, commit func(client string, seq uint64) error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range n {
		wg.Go(func() {
			client := fmt.Sprintf("bench-%03d", g)
			for seq := uint64(1); next.Add(1) <= int64(b.N); seq++ {
				if err := commit(client, seq); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkCommit: durable one-message batches (a QoS 1 PUBLISH with the store on) from n
// concurrent committers, grouped by the committer goroutine.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("committers=%d", n), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			pool := sync.Pool{New: func() any { return new(Batch) }}
			runCommitters(b, n, func(client string, seq uint64) error {
				bt := pool.Get().(*Batch)
				bt.Reset()
				bt.PutMessage(client, seq, Message{Topic: "bench/topic", Payload: benchPayload, QoS: 1})
				err := s.Commit(bt)
				pool.Put(bt)
				return err
			})
		})
	}
}

// BenchmarkBoltBatch is the alternative to the committer goroutine: bbolt's own db.Batch
// (MaxBatchDelay 10 ms, MaxBatchSize 1000), with the same keys and values.
func BenchmarkBoltBatch(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("committers=%d", n), func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "b.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte(bucketMessages)); return err }); err != nil {
				b.Fatal(err)
			}
			m := Message{Topic: "bench/topic", Payload: benchPayload, QoS: 1}
			runCommitters(b, n, func(client string, seq uint64) error {
				key := appendMessageKey(nil, client, seq)
				val := appendMessage(nil, &m, true)
				return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bucketMessages)).Put(key, val) })
			})
		})
	}
}

// BenchmarkCommitLazy: one-message lazy batches from one caller; the time includes the final
// barrier Commit, so it is the rate at which lazy writes become durable.
func BenchmarkCommitLazy(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	b.ReportAllocs()
	var bt Batch
	seq := uint64(0)
	for b.Loop() {
		seq++
		bt.Reset()
		bt.PutMessage("lazy", seq, Message{Topic: "bench/topic", Payload: benchPayload, QoS: 1})
		if err := s.CommitLazy(&bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Commit(&Batch{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLoad: a restart with 100 000 queued messages in 1000 sessions.
func BenchmarkLoad(b *testing.B) {
	const sessions, perSession = 1000, 100
	s := mustOpen(b, b.TempDir())
	var bt Batch
	for c := range sessions {
		bt.Reset()
		client := fmt.Sprintf("sensor-%04d", c)
		bt.PutSession(client)
		bt.PutSubscription(client, "cmd/"+client+"/#", 1)
		bt.PutData(client, "topics", make([]byte, 32))
		for seq := range uint64(perSession) {
			bt.PutMessage(client, seq, Message{Topic: "cmd/" + client + "/set", Payload: benchPayload, QoS: 1})
		}
		if err := s.Commit(&bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := s.Load(Visitor{
			Session: func(Session) error { return nil },
			Message: func(string, uint64, Message) error { n++; return nil },
			Data:    func(string, string, []byte) error { return nil },
		})
		if err != nil || n != sessions*perSession {
			b.Fatalf("Load: %v, %d messages", err, n)
		}
	}
	b.ReportMetric(float64(b.N*sessions*perSession)/b.Elapsed().Seconds(), "msgs/s")
}
