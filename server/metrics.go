package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// metrics are the Prometheus metrics the server exposes at /metrics. The
// counters count what this process did since it started; the gauges read
// the ledger when scraped, so a standby shows the same jobs and backlog
// as the active daemon.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	movements *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	jobRuns   *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, s *Server) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pointsync_http_requests_total", Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pointsync_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		movements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pointsync_movements_applied_total", Help: "Ledger movements committed by this process, by source and kind.",
		}, []string{"source", "kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pointsync_rows_rejected_total", Help: "Rows a job rejected (bad input, kept for review), by job.",
		}, []string{"job"}),
		jobRuns: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pointsync_job_duration_seconds", Help: "Time a job run took, by job and outcome (ok or error).",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900},
		}, []string{"job", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.durations, m.movements, m.rejected, m.jobRuns, &ledgerCollector{s: s}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument counts every answer by the route pattern that served it
// (never the raw path, which holds customer identifiers).
func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.durations.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// ObserveJob records one job run (the daemon calls it after each run).
func (s *Server) ObserveJob(name string, took time.Duration, rejected int64, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.metrics.jobRuns.WithLabelValues(name, outcome).Observe(took.Seconds())
	if rejected > 0 {
		s.metrics.rejected.WithLabelValues(name).Add(float64(rejected))
	}
}

type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ledgerCollector reads the ledger's gauges when scraped.
type ledgerCollector struct{ s *Server }

var (
	descJobLag      = prometheus.NewDesc("pointsync_job_lag_seconds", "How far behind its source a job was at its last run.", []string{"job"}, nil)
	descJobFailures = prometheus.NewDesc("pointsync_job_consecutive_failures", "Failed runs of a job since its last success.", []string{"job"}, nil)
	descJobSuccess  = prometheus.NewDesc("pointsync_job_last_success_timestamp_seconds", "When a job last ran without error (0: never).", []string{"job"}, nil)
	descActive      = prometheus.NewDesc("pointsync_active", "1 when this daemon holds the ledger (lock or lease), 0 on a standby.", nil, nil)
	descScrapeError = prometheus.NewDesc("pointsync_ledger_scrape_errors", "1 when the ledger could not be read for this scrape.", nil, nil)
	descParked      = prometheus.NewDesc("pointsync_parked_facts", "Orders, receipts and actions parked (waiting for an identifier, an order, or review), by program.", []string{"program"}, nil)
	descOutbox      = prometheus.NewDesc("pointsync_outbox_pending", "Notification events not delivered yet.", nil, nil)
	descOutboxFail  = prometheus.NewDesc("pointsync_outbox_failing", "Notification events whose delivery failed at least once and is being retried.", nil, nil)
	descOutboxAge   = prometheus.NewDesc("pointsync_outbox_oldest_age_seconds", "Age of the oldest notification event not delivered yet (0: none).", nil, nil)
)

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobLag, descJobFailures, descJobSuccess, descActive, descScrapeError,
		descParked, descOutbox, descOutboxFail, descOutboxAge} {
		ch <- d
	}
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	active := 0.0
	if s.active() {
		active = 1
	}
	ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, active)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	jobs, err := s.ledger.Jobs(ctx)
	if err != nil {
		s.log.Warn("metrics: cannot read the jobs' status", zap.Error(err))
		failed = 1
	}
	for _, j := range jobs {
		ch <- prometheus.MustNewConstMetric(descJobLag, prometheus.GaugeValue, j.Lag.Seconds(), j.Name)
		ch <- prometheus.MustNewConstMetric(descJobFailures, prometheus.GaugeValue, float64(j.Failures), j.Name)
		var ts float64
		if !j.LastSuccess.IsZero() {
			ts = float64(j.LastSuccess.UnixMilli()) / 1000
		}
		ch <- prometheus.MustNewConstMetric(descJobSuccess, prometheus.GaugeValue, ts, j.Name)
	}
	parked, err := s.ledger.ParkedCount(ctx)
	if err != nil {
		s.log.Warn("metrics: cannot count the parked facts", zap.Error(err))
		failed = 1
	}
	for _, p := range s.conf.Programs {
		ch <- prometheus.MustNewConstMetric(descParked, prometheus.GaugeValue, float64(parked[p.ID]), p.ID)
	}
	ob, err := s.ledger.OutboxStats(ctx)
	if err != nil {
		s.log.Warn("metrics: cannot read the outbox", zap.Error(err))
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(ob.Pending))
		ch <- prometheus.MustNewConstMetric(descOutboxFail, prometheus.GaugeValue, float64(ob.Failing))
		age := 0.0
		if !ob.Oldest.IsZero() {
			age = max(s.clock().Sub(ob.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(descOutboxAge, prometheus.GaugeValue, age)
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, failed)
}

// ObserveCommit counts a committed transaction's movements (give it to
// ledger.OnCommit).
func (s *Server) ObserveCommit(written map[ledger.Written]int) {
	for w, n := range written {
		s.metrics.movements.WithLabelValues(w.Source, string(w.Kind)).Add(float64(n))
	}
}
