package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

// childEnv makes the test binary act as a child process for the tests that need a second
// process: "crash:<dir>" commits until killed, "hold:<dir>" holds the store open until stdin ends.
const childEnv = "SNBRIDGE_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(mode))
	}
	goleak.VerifyTestMain(m)
}

func runChild(mode string) int {
	kind, dir, _ := strings.Cut(mode, ":")
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch kind {
	case "hold":
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	case "crash":
		crashChild(s)
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// crashChild commits from several goroutines and prints "client seq" after each Commit returns,
// until the parent kills it (bounded anyway, so an orphan cannot run forever).
func crashChild(s Store) {
	const committers, maxPerCommitter = 8, 20000
	deadline := time.Now().Add(time.Minute)
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range committers {
		wg.Go(func() {
			client := fmt.Sprintf("crash-%d", g)
			var b, lazy Batch
			for seq := uint64(1); seq <= maxPerCommitter && time.Now().Before(deadline); seq++ {
				b.Reset()
				b.PutMessage(client, seq, Message{Topic: "crash/" + client, Payload: strconv.AppendUint(nil, seq, 10), QoS: 1})
				if err := s.Commit(&b); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "%s %d\n", client, seq)
				out.Unlock()
				// Lazy traffic in between, as the broker makes after acknowledgements.
				lazy.Reset()
				lazy.PutData(client, "last", strconv.AppendUint(nil, seq, 10))
				if err := s.CommitLazy(&lazy); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		})
	}
	wg.Wait()
}

// startChild runs the test binary as a child in the given mode; with holdStdin its stdin is a
// pipe kept open until the test ends.
func startChild(t *testing.T, mode string, holdStdin bool) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	if holdStdin {
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close() })
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = new(bytes.Buffer)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens in the test, the child does not outlive it.
	kill := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() { kill.Stop() })
	return cmd, bufio.NewScanner(stdout)
}

// TestCrashKeepsEveryCommit kills a committing process with SIGKILL and checks that every batch
// whose Commit had returned (and was printed) is in the store after reopening.
//
// A SIGKILL leaves the kernel's page cache intact, so this proves that Commit returns only after
// the write, not that the fsync reached the platter; bbolt's tx.Commit does the fsync.
func TestCrashKeepsEveryCommit(t *testing.T) {
	const killAfter = 400 // printed commits before the kill
	dir := t.TempDir()
	cmd, lines := startChild(t, "crash:"+dir, false)
	printed := map[string]map[uint64]bool{}
	n := 0
	for lines.Scan() {
		client, seqText, ok := strings.Cut(lines.Text(), " ")
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if !ok || err != nil {
			t.Fatalf("child printed %q", lines.Text())
		}
		if printed[client] == nil {
			printed[client] = map[uint64]bool{}
		}
		printed[client][seq] = true
		if n++; n == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		// Keep reading: lines already in the pipe were printed after their Commit returned.
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-stream (%v, %d lines): %s", err, n, cmd.Stderr)
	}
	if n < killAfter {
		t.Fatalf("child printed only %d lines: %s", n, cmd.Stderr)
	}

	s := mustOpen(t, dir)
	stored := map[string]map[uint64]bool{}
	loaded := 0
	err = s.Load(Visitor{Message: func(c string, seq uint64, m Message) error {
		if string(m.Payload) != strconv.FormatUint(seq, 10) || m.Topic != "crash/"+c {
			t.Errorf("%s/%d stored as %+v", c, seq, m)
		}
		if stored[c] == nil {
			stored[c] = map[uint64]bool{}
		}
		stored[c][seq] = true
		loaded++
		return nil
	}})
	if err != nil {
		t.Fatalf("Load after the crash: %v", err)
	}
	missing := 0
	for c, seqs := range printed {
		for seq := range seqs {
			if !stored[c][seq] {
				missing++
				t.Errorf("%s/%d was committed (printed) but is not in the store", c, seq)
			}
		}
	}
	if got := s.Stats().Messages; got != int64(loaded) {
		t.Errorf("Stats().Messages = %d after reopening, Load found %d", got, loaded)
	}
	t.Logf("%d commits printed before the kill was seen, %d in the store, %d missing", n, loaded, missing)
}

func TestSecondProcessGetsLockedError(t *testing.T) {
	dir := t.TempDir()
	cmd, lines := startChild(t, "hold:"+dir, true)
	if !lines.Scan() || lines.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not open the store: %s", cmd.Stderr)
	}
	s, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	path := filepath.Join(dir, "snbridge.db")
	if err == nil {
		s.Close()
		t.Error("Open succeeded while another process holds the store")
	} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("error %q does not name %s and say it is locked", err, path)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The lock goes with the process.
	s = mustOpen(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeRaw puts bytes straight into the bbolt file, as corruption or another version would.
func writeRaw(t *testing.T, path, bucket string, key, val []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bucket)).Put(key, val) }); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptRecordIsAClearError(t *testing.T) {
	msgKey := appendMessageKey(nil, "c", 7)
	cases := []struct {
		name, bucket string
		key, val     []byte
		want         string
	}{
		{"retained of a newer version", bucketRetained, []byte("t"), []byte{9, 0, 0, 0, 0}, `bucket "retained", key "t": unsupported record version 9 (this build reads 1)`},
		{"retained truncated", bucketRetained, []byte("t"), []byte{1, 0}, `bucket "retained", key "t": truncated record`},
		{"retained carrying a topic", bucketRetained, []byte("t"), []byte{1, 0, 0, 0, 1, 'x'}, `retained record carries a topic`},
		{"message QoS 3", bucketMessages, msgKey, []byte{1, 3, 0, 0, 1, 't'}, `bucket "messages", key client "c" seq 7: QoS 3`},
		{"message unknown flags", bucketMessages, msgKey, []byte{1, 0x80, 0, 0, 1, 't'}, `unknown flags 0x80`},
		{"message topic longer than record", bucketMessages, msgKey, []byte{1, 1, 0, 0, 50, 't'}, `topic length 50 exceeds the 1 bytes left`},
		{"message bad varint", bucketMessages, msgKey, []byte{1, 1, 0, 0, 0xff}, `bad topic length`},
		{"message empty", bucketMessages, msgKey, []byte{}, `truncated record`},
		{"message key too short", bucketMessages, []byte("c\x00\x01"), []byte{1, 1, 0, 0, 1, 't'}, `bucket "messages", key client "c" "\x01": key of 3 bytes`},
		{"session of a newer version", bucketSessions, []byte("c"), []byte{2}, `bucket "sessions", key "c": unsupported record version 2`},
		{"subscription QoS 7", bucketSubs, []byte("c\x00f"), []byte{1, 7}, `bucket "subs", key client "c" "f": QoS 7`},
		{"subscription truncated", bucketSubs, []byte("c\x00f"), []byte{1}, `record of 1 bytes, want 2`},
		{"data empty", bucketData, []byte("c\x00k"), nil, `bucket "data", key client "c" "k": truncated record`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			if err := s.Commit(batch(func(b *Batch) {
				b.PutRetained(qos1Msg)
				b.PutSubscription("c", "g", 1)
				b.PutMessage("c", 1, qos1Msg)
				b.PutData("c", "a", []byte("v"))
			})); err != nil {
				t.Fatal(err)
			}
			s.Close()
			writeRaw(t, filepath.Join(dir, "snbridge.db"), tc.bucket, tc.key, tc.val)

			s = mustOpen(t, dir)
			err := s.Load(Visitor{
				Retained: func(Message) error { return nil },
				Session:  func(Session) error { return nil },
				Message:  func(string, uint64, Message) error { return nil },
				Data:     func(string, string, []byte) error { return nil },
			})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Bucket != tc.bucket || !bytes.Equal(ce.Key, tc.key) {
				t.Fatalf("Load = %v, want a CorruptError for bucket %q key %q", err, tc.bucket, tc.key)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			// The store still works: the bad record can be overwritten.
			if err := s.Commit(batch(func(b *Batch) { b.DeleteSession("c"); b.DeleteRetained("t") })); err != nil {
				t.Fatalf("Commit after a corrupt Load: %v", err)
			}
		})
	}
}

func TestOpenRefusesOtherFormatsAndFiles(t *testing.T) {
	t.Run("newer layout", func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir).Close()
		path := filepath.Join(dir, "snbridge.db")
		writeRaw(t, path, bucketMeta, []byte("format"), []byte{2})
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "format [2], this build reads format 1") {
			t.Errorf("Open = %v, want an error naming the file and the format", err)
		}
	})
	t.Run("not a database", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "other.db")
		if err := os.WriteFile(path, bytes.Repeat([]byte("not bbolt "), 2000), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, Options{File: "other.db"})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Open = %v, want an error naming %s", err, path)
		}
	})
}

// A lazy batch reaches the disk LazyDelay after it was queued when no Commit carries it. Stats
// counts only what is written, which makes the moment observable.
func TestLazyBatchWrittenAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 30 * time.Millisecond
		s, err := Open(t.TempDir(), Options{LazyDelay: delay})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CommitLazy(batch(func(b *Batch) { b.PutMessage("c", 1, qos1Msg) })); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay - time.Millisecond)
		synctest.Wait()
		if n := s.Stats().Messages; n != 0 {
			t.Fatalf("written after %v, before LazyDelay %v", delay-time.Millisecond, delay)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := s.Stats().Messages; n != 1 {
			t.Fatalf("not written at LazyDelay: Stats().Messages = %d", n)
		}
		// A Commit carries queued lazy batches with it, without waiting for the delay.
		if err := s.CommitLazy(batch(func(b *Batch) { b.PutMessage("c", 2, qos1Msg) })); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(&Batch{}); err != nil {
			t.Fatal(err)
		}
		if n := s.Stats().Messages; n != 2 {
			t.Fatalf("Commit did not carry the lazy batch: Stats().Messages = %d", n)
		}
	})
}

func TestCloseStopsTheCommitter(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	for range 3 {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CommitLazy(batch(func(b *Batch) { b.PutSession("c") })); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 { // concurrent Close calls all return once it is closed
			wg.Go(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
}

func TestStatsBytesIsTheFileSize(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := s.Commit(batch(func(b *Batch) { b.PutRetained(Message{Topic: "big", Payload: make([]byte, 100<<10)}) })); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "snbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Bytes != fi.Size() || got.Bytes < 100<<10 || got.Messages != 1 {
		t.Errorf("Stats() = %+v, file is %d bytes", got, fi.Size())
	}
}

// Load only shows what hangs off a session record, so look at the raw buckets: DeleteSession
// must leave no key of the client behind (and take none of a client whose id it prefixes).
func TestDeleteSessionLeavesNoKeys(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	var b Batch
	for _, c := range []string{"gone", "gone2"} {
		b.PutSession(c)
		for i := range 300 { // several pages per bucket
			b.PutSubscription(c, fmt.Sprintf("f/%d", i), 1)
			b.PutMessage(c, uint64(i), qos1Msg)
			b.PutData(c, fmt.Sprintf("k%d", i), []byte("v"))
		}
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(batch(func(b *Batch) { b.DeleteSession("gone") })); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Messages; n != 300 {
		t.Errorf("Stats().Messages = %d after DeleteSession, want 300", n)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, "snbridge.db"), 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketSessions, bucketSubs, bucketMessages, bucketData} {
			left, kept := 0, 0
			tx.Bucket([]byte(name)).ForEach(func(k, _ []byte) error {
				switch {
				case string(k) == "gone" || bytes.HasPrefix(k, []byte("gone\x00")):
					left++
				case bytes.HasPrefix(k, []byte("gone2")):
					kept++
				}
				return nil
			})
			want := 300
			if name == bucketSessions {
				want = 1
			}
			if left != 0 || kept != want {
				t.Errorf("bucket %s: %d keys of the deleted client left, %d of the other kept (want 0, %d)", name, left, kept, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
