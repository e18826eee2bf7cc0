package main

import (
	"os"
	"testing"

	"snbridge/simulator/simtest"
)

// TestMain removes the snbridge binary the end-to-end tests built once for all of them.
func TestMain(m *testing.M) {
	code := m.Run()
	simtest.RemoveBuild()
	os.Exit(code)
}
