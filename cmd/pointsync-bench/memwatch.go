package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// memWatch follows a child's memory, for -memprofile: it samples the
// resident set every interval and, at each new peak, writes a heap profile
// over the last one, so that the profile left is the one of the peak. A
// timeline (path + ".txt", written as it goes, to watch a long run) splits
// each sample into the Go runtime's memory and the rest: SQLite's page
// caches and allocations, which modernc.org/sqlite makes outside the Go
// heap, and mapped files. The kernel's own split of the resident set
// tells the rest apart: anonymous memory (the Go runtime's and SQLite's
// allocations), pages of mapped files (the binary's code) and shared memory
// (SQLite's WAL index, the -shm file, which it maps). The last two columns
// are SQLite's cached pages: those in the ledger's pool and those
// allocated past it (ledger.SQLitePageCache).
type memWatch struct {
	path     string
	interval time.Duration
	start    time.Time
	peak     int64
	timeline *os.File
	stop     chan struct{}
	done     chan error
	samples  []metrics.Sample
}

// memPeakStep is how much a peak must pass the last one to be profiled
// again: a heap profile costs a stop of the world.
const memPeakStep = 2 << 20

func startMemWatch(path string, interval time.Duration) (*memWatch, error) {
	if _, err := readResident(); err != nil {
		return nil, fmt.Errorf("-memprofile: %w", err)
	}
	timeline, err := os.Create(path + ".txt")
	if err != nil {
		return nil, err
	}
	w := &memWatch{path: path, interval: interval, start: time.Now(), timeline: timeline, stop: make(chan struct{}), done: make(chan error, 1),
		samples: []metrics.Sample{
			{Name: "/memory/classes/total:bytes"},
			{Name: "/memory/classes/heap/released:bytes"},
			{Name: "/memory/classes/heap/objects:bytes"},
		}}
	if _, err := fmt.Fprintf(timeline, "%8s %10s %10s %10s %10s %10s %10s %10s %10s %11s\n", "seconds", "rss_mib", "go_mib", "heap_mib", "other_mib",
		"anon_mib", "file_mib", "shmem_mib", "pool_mib", "outside_mib"); err != nil {
		timeline.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

func (w *memWatch) loop() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	var err error
	for {
		select {
		case <-w.stop:
			if e := w.sample(); err == nil {
				err = e
			}
			w.done <- err
			return
		case <-t.C:
			if e := w.sample(); err == nil {
				err = e
			}
		}
	}
}

// sample reads the resident set and the runtime's figures, and profiles
// the heap at a new peak.
func (w *memWatch) sample() error {
	res, err := readResident()
	if err != nil {
		return err
	}
	rss := res.total
	metrics.Read(w.samples)
	goMapped := int64(w.samples[0].Value.Uint64() - w.samples[1].Value.Uint64())
	heap := int64(w.samples[2].Value.Uint64())
	const mib = 1 << 20
	pc := ledger.SQLitePageCache()
	if _, err := fmt.Fprintf(w.timeline, "%8.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %11.1f\n", time.Since(w.start).Seconds(),
		float64(rss)/mib, float64(goMapped)/mib, float64(heap)/mib, float64(rss-goMapped)/mib,
		float64(res.anon)/mib, float64(res.file)/mib, float64(res.shmem)/mib,
		float64(pc.PoolUsed*pc.SlotBytes)/mib, float64(pc.OutsideBytes)/mib); err != nil {
		return err
	}
	if rss < w.peak+memPeakStep {
		return nil
	}
	w.peak = rss
	f, err := os.Create(w.path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stop takes a last sample and closes the timeline.
func (w *memWatch) Stop() error {
	close(w.stop)
	err := <-w.done
	if e := w.timeline.Close(); err == nil {
		err = e
	}
	return err
}

// resident is the process's resident set and the kernel's split of it.
type resident struct {
	total, anon, file, shmem int64
}

// readResident reads the resident set now (Linux: the VmRSS, RssAnon,
// RssFile and RssShmem lines of /proc/self/status).
func readResident() (resident, error) {
	var r resident
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return r, fmt.Errorf("the resident set is read from /proc (Linux): %w", err)
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS:": &r.total, "RssAnon:": &r.anon, "RssFile:": &r.file, "RssShmem:": &r.shmem}
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		dst := fields[string(name)+":"]
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
		if err != nil {
			return r, fmt.Errorf("/proc/self/status: %s %q: %w", name, v, err)
		}
		*dst = kb << 10
		found = found || dst == &r.total
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	if !found {
		return r, fmt.Errorf("/proc/self/status has no VmRSS line")
	}
	return r, nil
}
