package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCanPublish is the per-message check of the broker with the test ACL.
func BenchmarkCanPublish(b *testing.B) {
	path := filepath.Join(b.TempDir(), "acl")
	if err := os.WriteFile(path, []byte(testACL), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{ACLFile: path})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !a.CanPublish("carol", "c1", "id-c1/of/carol") {
			b.Fatal("denied")
		}
	}
}
