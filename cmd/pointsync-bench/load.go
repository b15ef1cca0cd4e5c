package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// loadResult is what a timed load did in its measured window.
type loadResult struct {
	done     int // operations finished in the window without error
	errs     int
	firstErr string
	lat      []time.Duration // of the operations done, sorted
	window   time.Duration
}

func (r loadResult) perSecond() float64 { return float64(r.done) / r.window.Seconds() }

// percentile is the latency below which p percent of the operations
// finished.
func (r loadResult) percentile(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

// runLoad runs op in workers goroutines, each in a loop, for warmup and
// then duration; only what finished within the duration counts. Each
// worker has its own random source, seeded by the worker's number.
func runLoad(ctx context.Context, workers int, warmup, duration time.Duration, seed uint64, op func(ctx context.Context, worker, n int, rng *rand.Rand) error) loadResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	type part struct {
		lat      []time.Duration
		errs     int
		firstErr string
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			p := &parts[w]
			for n := 0; ctx.Err() == nil; n++ {
				t0 := time.Now()
				if !t0.Before(to) {
					return
				}
				err := op(ctx, w, n, rng)
				t1 := time.Now()
				if t0.Before(from) || t1.After(to) {
					continue
				}
				if err != nil {
					if p.errs == 0 {
						p.firstErr = err.Error()
					}
					p.errs++
					continue
				}
				p.lat = append(p.lat, t1.Sub(t0))
			}
		}()
	}
	wg.Wait()
	res := loadResult{window: duration}
	for _, p := range parts {
		res.lat = append(res.lat, p.lat...)
		res.errs += p.errs
		if res.firstErr == "" {
			res.firstErr = p.firstErr
		}
	}
	slices.Sort(res.lat)
	res.done = len(res.lat)
	return res
}

// apiClient calls the web server with the bench's token over keep-alive
// connections, at most one per worker.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(addr, token string, conns int) *apiClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true, IdleConnTimeout: time.Minute}
	return &apiClient{base: "http://" + addr, token: token, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// call sends a request and reads the whole answer; a status other than
// want is an error carrying the answer.
func (c *apiClient) call(ctx context.Context, method, path, body string, want int) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *apiClient) close() { c.http.CloseIdleConnections() }

// runRate offers op at a fixed rate (operations a second, evenly spaced)
// for warmup and then duration, from up to workers goroutines. Unlike
// runLoad, whose workers wait for an answer before asking again, the
// schedule does not slow down when answers do: an operation's latency
// runs from its scheduled start, so time spent waiting for a free worker
// counts (no coordinated omission). Only operations scheduled within the
// duration count.
func runRate(ctx context.Context, perSecond float64, workers int, warmup, duration time.Duration, seed uint64, op func(ctx context.Context, worker, n int, rng *rand.Rand) error) loadResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	interval := time.Duration(float64(time.Second) / perSecond)
	due := make(chan time.Time, 1<<16)
	go func() {
		defer close(due)
		for n := 0; ctx.Err() == nil; n++ {
			at := start.Add(time.Duration(n) * interval)
			if !at.Before(to) {
				return
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			due <- at
		}
	}()
	type part struct {
		lat      []time.Duration
		errs     int
		firstErr string
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			p := &parts[w]
			n := 0
			for at := range due {
				err := op(ctx, w, n, rng)
				n++
				if at.Before(from) {
					continue
				}
				if err != nil {
					if p.errs == 0 {
						p.firstErr = err.Error()
					}
					p.errs++
					continue
				}
				p.lat = append(p.lat, time.Since(at))
			}
		}()
	}
	wg.Wait()
	res := loadResult{window: duration}
	for _, p := range parts {
		res.lat = append(res.lat, p.lat...)
		res.errs += p.errs
		if res.firstErr == "" {
			res.firstErr = p.firstErr
		}
	}
	slices.Sort(res.lat)
	res.done = len(res.lat)
	return res
}
