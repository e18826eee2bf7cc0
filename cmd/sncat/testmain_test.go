package main

import (
	"testing"

	"snbridge/simulator/simtest"
)

// TestMain deletes the snbridge binary the end-to-end tests built once for all of them.
func TestMain(m *testing.M) { simtest.Main(m) }
