// Package report presents a simulator run: the live progress line, the final summary table with
// its verdict, JSON for machines, and a single self-contained HTML page (inline SVG charts, no
// script, nothing fetched) with throughput over time, latency percentiles and histogram, and
// delivery per group.
package report
