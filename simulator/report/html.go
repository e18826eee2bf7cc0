package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"snbridge/simulator/check"
)

// WriteHTML writes a single self-contained page: styles inline, charts as inline SVG, no script
// and no network fetches, so it can be mailed or archived as one file.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		*Report
		Pass       bool
		Throughput template.HTML
		Histogram  template.HTML
		Percentile template.HTML
		Delivery   template.HTML
	}{
		Report:     r,
		Pass:       r.Passed(),
		Throughput: throughputSVG(r.Timeline),
		Histogram:  histogramSVG(r.Histogram),
		Percentile: percentileSVG(r.Streams),
		Delivery:   deliverySVG(r.Groups),
	}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur":  fmtDur,
	"pct":  func(c check.Counts) string { return fmt.Sprintf("%.2f%%", 100*c.DeliveryRate()) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"ms":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>snsim report — {{.Scenario}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.3em 1em;border-radius:4px;font-weight:bold;color:#fff}
.pass{background:#2e7d32} .fail{background:#c62828}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right} th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left}
td.bad{color:#c62828;font-weight:bold} td.ok{color:#2e7d32}
svg{background:#fcfcfc;border:1px solid #eee} svg text{font:11px system-ui,sans-serif;fill:#444}
.meta{color:#666} li{margin:.2em 0}
</style></head><body>
<h1>snsim report — {{.Scenario}}</h1>
<p class="meta">{{when .Started}} · {{ms .Elapsed}} · {{.Sensors}} sensors ({{.Connected}} connected{{if .ConnectFailures}}, {{.ConnectFailures}} failed connects{{end}}) · gateway {{.Gateway}} · broker {{.Broker}} · run {{printf "%08x" .Run}}</p>
<p>{{if .Pass}}<span class="verdict pass">PASS</span> every QoS guarantee held{{else}}<span class="verdict fail">FAIL</span>{{end}}</p>
{{if .Violations}}<ul>{{range .Violations}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Errors}}<ul>{{range .Errors}}<li>error: {{.}}</li>{{end}}</ul>{{end}}

<h2>Delivery by direction and QoS</h2>
<table><tr><th>direction</th><th>QoS</th><th>sent</th><th>acked</th><th>failed</th><th>delivered</th><th>lost</th><th>lost acked</th><th>duplicates</th><th>out of order</th><th>verdict</th></tr>
{{range .Streams}}<tr><td>{{.Direction}}</td><td>{{.QoS}}</td><td>{{.Counts.Sent}}</td><td>{{.Counts.Acked}}</td><td>{{.Counts.Failed}}</td><td>{{.Counts.Delivered}}</td><td>{{.Counts.Lost}}</td><td>{{.Counts.LostAcked}}</td><td>{{.Counts.Duplicates}}</td><td>{{.Counts.OutOfOrder}}</td>{{if .Pass}}<td class="ok">ok</td>{{else}}<td class="bad">FAIL</td>{{end}}</tr>
{{end}}</table>
{{if .Link.Datagrams}}<p class="meta">Simulated link: {{.Link.Datagrams}} datagrams, {{.Link.Lost}} lost, {{.Link.Duplicated}} duplicated, {{.Link.Reordered}} reordered, {{.Link.Overflow}} overflowed.</p>{{end}}
<p class="meta">Sensors: {{.Protocol.Retransmissions}} retransmissions, {{.Protocol.GatewayDisconnects}} disconnects by the gateway, {{.Protocol.Rejections}} rejections, {{.Protocol.Malformed}} malformed datagrams, {{.Protocol.UnknownTopicIDs}} unknown topic ids.</p>

<h2>Throughput over time</h2>
{{.Throughput}}

<h2>Latency</h2>
<table><tr><th>direction</th><th>QoS</th><th>samples</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{range .Streams}}<tr><td>{{.Direction}}</td><td>{{.QoS}}</td><td>{{.Latency.Count}}</td><td>{{dur .Latency.Min}}</td><td>{{dur .Latency.Mean}}</td><td>{{dur .Latency.P50}}</td><td>{{dur .Latency.P90}}</td><td>{{dur .Latency.P99}}</td><td>{{dur .Latency.P999}}</td><td>{{dur .Latency.Max}}</td></tr>
{{end}}</table>
{{.Percentile}}
<h3>Histogram (all messages)</h3>
{{.Histogram}}

<h2>Delivery per group</h2>
{{.Delivery}}
<table><tr><th>group</th><th>direction</th><th>QoS</th><th>sent</th><th>delivered</th><th>delivery</th><th>lost</th><th>duplicates</th><th>out of order</th><th>verdict</th></tr>
{{range .Groups}}<tr><td>{{.Group}}</td><td>{{.Direction}}</td><td>{{.QoS}}</td><td>{{.Counts.Sent}}</td><td>{{.Counts.Delivered}}</td><td>{{pct .Counts}}</td><td>{{.Counts.Lost}}</td><td>{{.Counts.Duplicates}}</td><td>{{.Counts.OutOfOrder}}</td>{{if .Pass}}<td class="ok">ok</td>{{else}}<td class="bad">FAIL</td>{{end}}</tr>
{{end}}</table>
{{if or .Foreign .Unknown}}<p class="meta">Ignored: {{.Foreign}} foreign payloads (wills, earlier runs), {{.Unknown}} from unknown senders.</p>{{end}}
<p class="meta">Generated by snsim.</p>
</body></html>
`))

const (
	chartW, chartH = 900, 260
	padL, padR     = 60, 20
	padT, padB     = 20, 40
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// niceMax rounds v up to 1, 2 or 5 × a power of ten, for axis labels.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func svgOpen(b *strings.Builder, h int, label string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, h, chartW, h, esc(label))
}

func yAxis(b *strings.Builder, h int, top float64, unit string) {
	plotH := float64(h - padT - padB)
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		y := float64(h-padB) - plotH*float64(i)/5
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s%s</text>`, padL-6, y+4, trimFloat(v), unit)
	}
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func emptyChart(label string) template.HTML {
	var b strings.Builder
	svgOpen(&b, 60, label)
	fmt.Fprintf(&b, `<text x="%d" y="35">no data</text></svg>`, padL)
	return template.HTML(b.String())
}

// throughputSVG draws messages sent and first-delivered per second as two polylines.
func throughputSVG(tl []check.Point) template.HTML {
	if len(tl) == 0 {
		return emptyChart("throughput: no data")
	}
	step := 1.0
	if len(tl) > 1 {
		step = tl[1].T - tl[0].T
	}
	top := 0.0
	for _, p := range tl {
		top = math.Max(top, math.Max(float64(p.Sent), float64(p.Delivered))/step)
	}
	top = niceMax(top)
	var b strings.Builder
	svgOpen(&b, chartH, "messages per second over time")
	yAxis(&b, chartH, top, "")
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	span := math.Max(tl[len(tl)-1].T+step, step)
	x := func(t float64) float64 { return float64(padL) + plotW*t/span }
	y := func(v float64) float64 { return float64(chartH-padB) - plotH*v/top }
	line := func(get func(check.Point) uint64, colour, name string, row int) {
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + colour + `" points="`)
		for _, p := range tl {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.T+step/2), y(float64(get(p))/step))
		}
		b.WriteString(`"/>`)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`,
			chartW-padR-150, padT+row*14, colour, chartW-padR-132, padT+row*14+5, name)
	}
	line(func(p check.Point) uint64 { return p.Sent }, "#1565c0", "sent msg/s", 0)
	line(func(p check.Point) uint64 { return p.Delivered }, "#2e7d32", "delivered msg/s", 1)
	for i := 0; i <= 5; i++ {
		t := span * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ss</text>`, x(t), chartH-padB+16, trimFloat(math.Round(t*10)/10))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since start</text></svg>`, padL+int(plotW/2), chartH-6)
	return template.HTML(b.String())
}

// histogramSVG draws the latency histogram as bars over log-spaced buckets.
func histogramSVG(buckets []check.Bucket) template.HTML {
	if len(buckets) == 0 {
		return emptyChart("latency histogram: no data")
	}
	var top uint64
	for _, bk := range buckets {
		top = max(top, bk.Count)
	}
	ntop := niceMax(float64(top))
	var b strings.Builder
	svgOpen(&b, chartH, "latency histogram")
	yAxis(&b, chartH, ntop, "")
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	bw := plotW / float64(len(buckets))
	labelEvery := max(1, len(buckets)/8)
	for i, bk := range buckets {
		h := plotH * float64(bk.Count) / ntop
		x := float64(padL) + float64(i)*bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#6a1b9a"><title>≤ %s: %d</title></rect>`,
			x+0.5, float64(chartH-padB)-h, math.Max(bw-1, 0.5), h, fmtDur(bk.Upper), bk.Count)
		if i%labelEvery == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, chartH-padB+16, fmtDur(bk.Upper))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">latency (bucket upper bound), messages per bucket</text></svg>`, padL+int(plotW/2), chartH-6)
	return template.HTML(b.String())
}

// percentileSVG draws p50/p90/p99/p99.9/max per stream as grouped bars on a log scale.
func percentileSVG(streams []check.StreamSummary) template.HTML {
	var rows []check.StreamSummary
	for _, s := range streams {
		if s.Latency.Count > 0 {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		return emptyChart("latency percentiles: no data")
	}
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	colours := []string{"#81c784", "#4caf50", "#fb8c00", "#e53935", "#6d4c41"}
	lo, hi := math.Inf(1), 0.0
	for _, s := range rows {
		for _, d := range []time.Duration{s.Latency.P50, s.Latency.Max} {
			v := math.Max(float64(d), float64(time.Microsecond))
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.0001)))
	h := padT + padB + 26*len(rows)*len(names)/2 + 20*len(rows)
	var b strings.Builder
	svgOpen(&b, h, "latency percentiles per direction and QoS")
	plotW := float64(chartW - padL - padR - 90)
	left := float64(padL + 60)
	x := func(d time.Duration) float64 {
		v := math.Max(float64(d), lo)
		return left + plotW*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	for dec := lo; dec <= hi*1.0001; dec *= 10 {
		xx := x(time.Duration(dec))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			xx, padT, xx, h-padB, xx, h-padB+16, fmtDur(time.Duration(dec)))
	}
	y := padT
	barH := 12
	for _, s := range rows {
		vals := []time.Duration{s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.P999, s.Latency.Max}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s QoS %d</text>`, 4, y+barH*len(vals)/2+4, s.Direction, s.QoS)
		for i, d := range vals {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s</title></rect>`,
				left, y, math.Max(x(d)-left, 1), barH-2, colours[i], names[i], fmtDur(d))
			y += barH
		}
		y += 20
	}
	for i, n := range names {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`,
			padL+60+i*80, h-14, colours[i], padL+74+i*80, h-5, n)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// deliverySVG draws one stacked horizontal bar per group and direction: delivered, lost,
// and a duplicate count mark.
func deliverySVG(groups []check.GroupSummary) template.HTML {
	var rows []check.GroupSummary
	for _, g := range groups {
		if g.Counts.Sent > 0 {
			rows = append(rows, g)
		}
	}
	if len(rows) == 0 {
		return emptyChart("delivery per group: no data")
	}
	rowH := 22
	h := padT + padB + rowH*len(rows)
	left := 220.0
	plotW := float64(chartW-padR) - left
	var b strings.Builder
	svgOpen(&b, h, "delivery per group")
	for i, g := range rows {
		y := padT + i*rowH
		c := g.Counts
		dw := plotW * float64(c.Delivered) / float64(c.Sent)
		lw := plotW * float64(c.Lost) / float64(c.Sent)
		label := fmt.Sprintf("%s %s QoS %d", g.Group, g.Direction, g.QoS)
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+14, esc(label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="#43a047"><title>delivered %d</title></rect>`, left, y, dw, c.Delivered)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="#e53935"><title>lost %d</title></rect>`, left+dw, y, lw, c.Lost)
		note := fmt.Sprintf("%.2f%%", 100*c.DeliveryRate())
		if c.Duplicates > 0 {
			note += fmt.Sprintf(" · %d dup", c.Duplicates)
		}
		if !g.Pass {
			note += " · FAIL"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#fff" style="fill:#fff">%s</text>`, left+6, y+12, esc(note))
	}
	fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="10" height="10" fill="#43a047"/><text x="%.0f" y="%d">delivered</text>`, left, h-14, left+14, h-5)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="10" height="10" fill="#e53935"/><text x="%.0f" y="%d">lost</text></svg>`, left+100, h-14, left+114, h-5)
	return template.HTML(b.String())
}
