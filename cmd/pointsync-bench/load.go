package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http/httputil"
	"slices"
	"strconv"
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

// percentile999 is the latency below which 99.9 percent finished.
func (r loadResult) percentile999() time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*999/1000)]
}

// loadPart is what one worker of a load did in the measured window.
type loadPart struct {
	lat      []time.Duration
	errs     int
	firstErr string
}

func (p *loadPart) add(lat time.Duration, err error) {
	if err == nil {
		p.lat = append(p.lat, lat)
		return
	}
	if p.errs == 0 {
		p.firstErr = err.Error()
	}
	p.errs++
}

// merge adds up the workers' parts of a load measured over window.
func merge(parts []loadPart, window time.Duration) loadResult {
	res := loadResult{window: window}
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

// runLoad runs op in workers goroutines, each in a loop, for warmup and
// then duration; only what finished within the duration counts. Each
// worker has its own random source, seeded by the worker's number.
func runLoad(ctx context.Context, workers int, warmup, duration time.Duration, seed uint64, op func(ctx context.Context, worker, n int, rng *rand.Rand) error) loadResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	parts := make([]loadPart, workers)
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
				p.add(t1.Sub(t0), err)
			}
		}()
	}
	wg.Wait()
	return merge(parts, duration)
}

// apiClient calls the web server with the bench's token over keep-alive
// connections, one per worker. It speaks just enough HTTP/1.1 for the
// bench (a request with an optional JSON body; an answer with a
// Content-Length or chunked), so that the load generator, on the same two
// cores as the server, takes as little of their time as it can: Go's
// net/http client cost about as much CPU per request as the server.
type apiClient struct {
	addr  string
	token string
	mu    sync.Mutex
	conns map[int]*clientConn
}

type clientConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func newAPIClient(addr, token string, _ int) *apiClient {
	return &apiClient{addr: addr, token: token, conns: map[int]*clientConn{}}
}

// call sends a request on worker's connection and reads the whole answer;
// a status other than want is an error carrying the answer.
func (c *apiClient) call(ctx context.Context, worker int, method, path, body string, want int) error {
	cc, err := c.conn(ctx, worker)
	if err != nil {
		return err
	}
	status, msg, err := cc.do(c.addr, c.token, method, path, body)
	if err != nil {
		c.drop(worker)
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (c *apiClient) conn(ctx context.Context, worker int) (*clientConn, error) {
	c.mu.Lock()
	cc := c.conns[worker]
	c.mu.Unlock()
	if cc != nil {
		return cc, nil
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	cc = &clientConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 4<<10)}
	c.mu.Lock()
	c.conns[worker] = cc
	c.mu.Unlock()
	return cc, nil
}

func (c *apiClient) drop(worker int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[worker]; cc != nil {
		cc.c.Close()
		delete(c.conns, worker)
	}
}

func (c *apiClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w, cc := range c.conns {
		cc.c.Close()
		delete(c.conns, w)
	}
}

// do writes one request and reads its answer: the status, and the body
// when the status is not 2xx (to report it).
func (cc *clientConn) do(host, token, method, path, body string) (int, []byte, error) {
	if err := cc.c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return 0, nil, err
	}
	w := cc.w
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n", method, path, host, token)
	if body != "" {
		fmt.Fprintf(w, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	} else if method != "GET" {
		w.WriteString("Content-Length: 0\r\n\r\n")
	} else {
		w.WriteString("\r\n")
	}
	if err := w.Flush(); err != nil {
		return 0, nil, err
	}
	line, err := cc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("not an HTTP/1.1 answer: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := cc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	var rd io.Reader
	switch {
	case chunked:
		rd = httputil.NewChunkedReader(cc.r)
	case length >= 0:
		rd = io.LimitReader(cc.r, int64(length))
	default:
		return 0, nil, errors.New("an answer with neither Content-Length nor chunked")
	}
	var msg []byte
	if status/100 != 2 {
		msg, _ = io.ReadAll(io.LimitReader(rd, 512))
	}
	if _, err := io.Copy(io.Discard, rd); err != nil {
		return 0, nil, err
	}
	if chunked {
		// The chunked reader stops at the last chunk: the trailer, if
		// any, and the empty line that ends it are left.
		for {
			l, err := cc.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			if len(bytes.TrimRight(l, "\r\n")) == 0 {
				break
			}
		}
	}
	if closing {
		return status, msg, errors.New("the server closed the connection")
	}
	return status, msg, nil
}

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
	parts := make([]loadPart, workers)
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
				p.add(time.Since(at), err)
			}
		}()
	}
	wg.Wait()
	return merge(parts, duration)
}
