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
		"-spawn", "mosquitto-q1:fanin-qos1,idle=/usr/sbin/mosquitto -p {port}",
		"-spawn", "broken=/bin/false {port}"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "broken exited before listening") {
		t.Errorf("err = %v, want the broken broker named", err)
	}
	table := out.String()
	for _, want := range []string{"| fanin 2×, QoS 0, window 1 | mosquitto |", "| fanout 2×, QoS 1, inflight 1 | mosquitto |", "@10 000/s", "| 20 | mosquitto | 20 |", "KiB", "did not start"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if n := strings.Count(table, "| mosquitto |"); n != 7 {
		t.Errorf("%d rows of mosquitto, want 7:\n%s", n, table)
	}
	// the limited broker ran only the loads named
	if n := strings.Count(table, "| mosquitto-q1 |"); n != 2 || !strings.Contains(table, "| fanin 2×, QoS 1, inflight 1 | mosquitto-q1 |") {
		t.Errorf("%d rows of mosquitto-q1, want fanin-qos1 and idle:\n%s", n, table)
	}
}

func TestFlags(t *testing.T) {
	var out, errs strings.Builder
	for _, args := range [][]string{
		{"-qos", "2"},
		{"-suite"},
		{"-suite", "-spawn", "m:fanin-qos2=/usr/sbin/mosquitto -p {port}"},
		{"-suite", "-spawn", "m"},
		{"-mode", "sideways", "-broker", "127.0.0.1:1"},
		{"-nosuchflag"},
	} {
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
