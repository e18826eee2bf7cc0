package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The suite measures every broker that starts and says which did not.
func TestSuite(t *testing.T) {
	var out, errs strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, []string{"-suite", "-duration", "100ms", "-drain", "300ms", "-idle", "20", "-clients", "2", "-logdir", t.TempDir(),
		"-spawn", "mosquitto=/usr/sbin/mosquitto -p {port}",
		"-spawn", "broken=/bin/false {port}"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "broken exited before listening") {
		t.Errorf("err = %v, want the broken broker named", err)
	}
	table := out.String()
	for _, want := range []string{"fanin 2×, QoS 0", "fanout 2×, QoS 1 inflight 1", "@10000/s", "idle 20", "20 open", "KiB", "did not start"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Count(table, "mosquitto") != 7 {
		t.Errorf("want 7 mosquitto rows:\n%s", table)
	}
}

func TestFlags(t *testing.T) {
	var out, errs strings.Builder
	for _, args := range [][]string{
		{"-qos", "2"},
		{"-suite"},
		{"-mode", "sideways", "-broker", "127.0.0.1:1"},
		{"-nosuchflag"},
	} {
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
