package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// SPEC 3.3: "Two checkouts spending at once can never drive a balance
// below zero: reservation is atomic." 200 checkouts reserve 10 points
// each, all at once, by HTTP, on a balance of 1000.
func TestConcurrentReservations(t *testing.T) {
	tests := []struct {
		name string
		opts []testOption
	}{
		{"sqlite", nil},
		{"mysql", []testOption{withMySQL()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			concurrentReservations(t, newTestServer(t, tt.opts...))
		})
	}
}

func concurrentReservations(t *testing.T, ts *testServer) {
	const (
		cust     = "web:1"
		checkout = 200
		points   = 10
		balance  = 1000
	)
	ts.credit("loyalty", cust, balance)
	ts.now = ts.now.Add(time.Second) // a reservation spends points earned before it

	// Every request has its own connection, all opened before the start,
	// so the requests reach the server together.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: checkout}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	type outcome struct {
		status int
		code   string
		points int64
		err    error
	}
	out := make([]outcome, checkout)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range checkout {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			body := fmt.Sprintf(`{"order":"C%03d","customer":%q,"points":%d}`, i, cust, points)
			req, err := http.NewRequest("POST", ts.URL+coPath("loyalty", "reservations"), strings.NewReader(body))
			if err != nil {
				out[i].err = err
				ready.Done()
				return
			}
			req.Header.Set("Authorization", "Bearer "+tokRedeem)
			req.Header.Set("Content-Type", "application/json")
			// Open this checkout's connection now: it waits idle in
			// the pool for the start.
			if resp, err := client.Get(ts.URL + "/healthz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			ready.Done()
			<-start
			resp, err := client.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil {
				out[i].err = err
				return
			}
			out[i].status = resp.StatusCode
			var v struct {
				Points int64
				Error  *Error
			}
			if err := json.Unmarshal(data, &v); err != nil {
				out[i].err = fmt.Errorf("answer %d is not JSON: %v: %s", resp.StatusCode, err, data)
				return
			}
			out[i].points = v.Points
			if v.Error != nil {
				out[i].code = v.Error.Code
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()

	var held int64
	ok, short := 0, 0
	for i, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("checkout %d: %v", i, o.err)
		case o.status == http.StatusCreated:
			ok++
			held += o.points
		case o.status == http.StatusConflict && o.code == CodeInsufficient:
			short++
		default:
			t.Errorf("checkout %d: %d %s", i, o.status, o.code)
		}
	}
	if held > balance {
		t.Fatalf("the reservations hold %d points of a balance of %d", held, balance)
	}
	if ok != balance/points || short != checkout-balance/points || held != balance {
		t.Fatalf("%d reserved (%d points), %d refused as insufficient; want %d, %d points, %d", ok, held, short,
			balance/points, balance, checkout-balance/points)
	}
	b := coBalance(t, ts, "loyalty", cust)
	if b.Earned != 0 || b.Spent != balance {
		t.Fatalf("balance after the checkouts: %+v", b)
	}
	// Every successful checkout's reservation is there, held.
	for i, o := range out {
		if o.status != http.StatusCreated {
			continue
		}
		r := ts.do("GET", coPath("loyalty", "reservations", fmt.Sprintf("C%03d", i)), tokRedeem, nil)
		if !strings.Contains(string(r.Body), `"state":"held"`) {
			t.Errorf("reservation C%03d: %d %s", i, r.Status, r.Body)
		}
	}
}
