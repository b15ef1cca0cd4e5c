package keyset

import (
	"errors"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/pointsync/pointsync/internal/testflags"
)

// checkShape checks what the Set keeps about its runs: sizes halving from
// run to run, as many as the binary merging allows, the file exactly the
// runs end to end, and the counts.
func checkShape(t testing.TB, s *Set) {
	t.Helper()
	total := 0
	off := int64(0)
	for i, r := range s.runs {
		if r.off != off {
			t.Fatalf("run %d at %d, want %d (runs end to end)", i, r.off, off)
		}
		if i > 0 && s.runs[i-1].n <= r.n {
			t.Fatalf("run %d has %d keys, the one before it %d: it should have been merged", i, r.n, s.runs[i-1].n)
		}
		if want := (r.n + blockKeys - 1) / blockKeys; len(r.fences) != want {
			t.Fatalf("run %d: %d fences for %d keys", i, len(r.fences), r.n)
		}
		// A merge sizes the filter for both runs, before duplicates
		// are dropped: a run may be a little under the limit and
		// have none.
		if filtered := r.bloom.blocks > 0; r.n > s.filterKeys && filtered {
			t.Fatalf("run %d of %d keys has a Bloom filter; runs over %d should not", i, r.n, s.filterKeys)
		} else if r.n <= s.filterKeys/2 && !filtered {
			t.Fatalf("run %d of %d keys has no Bloom filter; runs up to %d should", i, r.n, s.filterKeys)
		}
		off += 8 * int64(r.n)
		total += r.n
	}
	if off != s.end || total != s.spilled {
		t.Fatalf("runs end at %d with %d keys; the Set says %d, %d", off, total, s.end, s.spilled)
	}
	if most := bits.Len(uint(s.spilled/s.bound)) + 1; len(s.runs) > most {
		t.Fatalf("%d runs for %d keys spilled by %d: more than %d", len(s.runs), s.spilled, s.bound, most)
	}
	if s.f != nil {
		info, err := s.f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() != s.end {
			t.Fatalf("file of %d bytes, %d in use", info.Size(), s.end)
		}
	}
	if s.used > s.bound || 2*s.used > len(s.table) {
		t.Fatalf("%d keys in a table of %d slots (bound %d)", s.used, len(s.table), s.bound)
	}
}

// TestKeysetMatchesMap interleaves Add and Has at random, as a reader
// does, and compares every answer with a map's. Small bounds make many
// runs and merges out of few keys; a narrow key space makes hits.
func TestKeysetMatchesMap(t *testing.T) {
	seed := testflags.Seed(t, 1)
	for _, bound := range []int{1, 2, 3, 7, 64, 600, 1500} {
		for _, space := range []uint64{50, 20_000, 0} { // 0: any uint64
			rng := rand.New(rand.NewPCG(seed, uint64(bound)<<32|space))
			s := NewSize(t.TempDir(), bound)
			// The larger runs without a filter, as in a long file.
			s.filterKeys = 4 * bound
			want := map[uint64]bool{}
			key := func() uint64 {
				if space == 0 {
					if rng.IntN(20) == 0 && len(want) > 0 {
						// Again a key met: a hit in a run, not only
						// in the table.
						for k := range want {
							return k
						}
					}
					return rng.Uint64()
				}
				return rng.Uint64N(space)
			}
			ops := testflags.Pick(20_000, 200_000)
			for i := range ops {
				k := key()
				if rng.IntN(2) == 0 {
					added, err := s.Add(k)
					if err != nil {
						t.Fatal(err)
					}
					if added == want[k] {
						t.Fatalf("bound %d, space %d, op %d: Add(%d) = %v, but the key was there before: %v", bound, space, i, k, added, want[k])
					}
					want[k] = true
				} else {
					got, err := s.Has(k)
					if err != nil {
						t.Fatal(err)
					}
					if got != want[k] {
						t.Fatalf("bound %d, space %d, op %d: Has(%d) = %v, want %v", bound, space, i, k, got, want[k])
					}
				}
				if s.Len() != len(want) {
					t.Fatalf("bound %d, space %d, op %d: Len %d, want %d", bound, space, i, s.Len(), len(want))
				}
				if i%997 == 0 {
					checkShape(t, s)
				}
			}
			checkShape(t, s)
			for k := range want {
				if got, err := s.Has(k); err != nil || !got {
					t.Fatalf("bound %d, space %d: Has(%d) = %v, %v after all adds", bound, space, k, got, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// unmix is mix's inverse: unmix(i) is the key the Set keeps as i, so
// that tests choose the order of keys in runs.
func unmix(x uint64) uint64 {
	unshift := func(x uint64, s uint) uint64 {
		y := x
		for range 64 / s {
			y = x ^ y>>s
		}
		return y
	}
	inverse := func(c uint64) uint64 {
		inv := c // Newton's iteration: each step doubles the correct bits
		for range 6 {
			inv *= 2 - c*inv
		}
		return inv
	}
	x = unshift(x, 31)
	x *= inverse(0x94d049bb133111eb)
	x = unshift(x, 27)
	x *= inverse(0xbf58476d1ce4e5b9)
	return unshift(x, 30)
}

func TestUnmix(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for range 1000 {
		k := rng.Uint64()
		if mix(unmix(k)) != k || unmix(mix(k)) != k {
			t.Fatalf("unmix is not mix's inverse at %#x", k)
		}
	}
}

// TestKeysetMerge checks merging by its result: runs of a set built from
// keys kept in ascending or descending order (whole runs below or above
// the others) or alternating between two ranges hold every key once, in
// order, each block's first key in memory.
func TestKeysetMerge(t *testing.T) {
	for _, name := range []string{"ascending", "descending", "interleaved"} {
		t.Run(name, func(t *testing.T) {
			s := NewSize(t.TempDir(), 300)
			const n = 5000
			for i := range n {
				k := uint64(i + 1)
				switch name {
				case "descending":
					k = n - uint64(i)
				case "interleaved":
					k = uint64(i%2*n + i/2 + 1)
				}
				if _, err := s.Add(unmix(k)); err != nil {
					t.Fatal(err)
				}
			}
			checkShape(t, s)
			for _, r := range s.runs {
				rd := s.newReader(r)
				prev := uint64(0)
				for i := 0; ; i++ {
					k, ok, err := rd.next()
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						if i != r.n {
							t.Fatalf("run of %d keys read %d", r.n, i)
						}
						break
					}
					if k <= prev {
						t.Fatalf("run at %d: key %d after %d", r.off, k, prev)
					}
					if i%blockKeys == 0 && r.fences[i/blockKeys] != k {
						t.Fatalf("run at %d: fence %d is %d, the key %d", r.off, i/blockKeys, r.fences[i/blockKeys], k)
					}
					prev = k
				}
			}
			for k := uint64(0); k <= 2*n+1; k++ {
				want := k >= 1 && k <= n
				if name == "interleaved" {
					want = k >= 1 && k <= n/2 || k > n && k <= n+n/2
				}
				if got, err := s.Has(unmix(k)); err != nil || got != want {
					t.Fatalf("Has(%d) = %v, %v; want %v", k, got, err, want)
				}
			}
		})
	}
}

func addAll(t testing.TB, s *Set, keys ...uint64) {
	t.Helper()
	for _, k := range keys {
		if _, err := s.Add(k); err != nil {
			t.Fatal(err)
		}
	}
}

func has(t testing.TB, s *Set, k uint64) bool {
	t.Helper()
	ok, err := s.Has(k)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestKeysetReset(t *testing.T) {
	s := NewSize(t.TempDir(), 4)
	addAll(t, s, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	if len(s.runs) == 0 || s.Len() != 10 {
		t.Fatalf("%d runs, %d keys: want runs and 10 keys", len(s.runs), s.Len())
	}
	s.Reset()
	if s.Len() != 0 {
		t.Fatalf("Len %d after Reset", s.Len())
	}
	for k := range uint64(10) {
		if has(t, s, k) {
			t.Fatalf("Has(%d) after Reset", k)
		}
	}
	if info, err := s.f.Stat(); err != nil || info.Size() != 0 {
		t.Fatalf("file after Reset: %v, %v; want it kept, empty", info, err)
	}
	addAll(t, s, 5, 50, 51, 52, 53, 54)
	checkShape(t, s)
	for _, k := range []uint64{5, 50, 54} {
		if !has(t, s, k) {
			t.Fatalf("Has(%d) false after Reset and Add", k)
		}
	}
	if has(t, s, 1) || s.Len() != 6 {
		t.Fatalf("a key of before the Reset came back, or Len %d != 6", s.Len())
	}
}

// TestKeysetCloseRemovesFile checks that no file stays behind: on Unix
// it has no name from its creation on; where it keeps one, Close removes
// it.
func TestKeysetCloseRemovesFile(t *testing.T) {
	for _, keepName := range []bool{false, true} {
		dir := t.TempDir()
		s := NewSize(dir, 2)
		s.keepName = keepName
		if _, err := s.Has(1); err != nil {
			t.Fatal(err)
		}
		if n := files(t, dir); n != 0 {
			t.Fatalf("%d files before any spill", n)
		}
		addAll(t, s, 1, 2, 3, 4, 5)
		if s.f == nil {
			t.Fatal("no file after spills")
		}
		want := 0
		if keepName {
			want = 1
		}
		if n := files(t, dir); n != want && runtime.GOOS != "windows" {
			t.Fatalf("keepName %v: %d files in the folder while in use, want %d", keepName, n, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := files(t, dir); n != 0 {
			t.Fatalf("keepName %v: %d files after Close", keepName, n)
		}
		if s.Len() != 0 || has(t, s, 3) {
			t.Fatal("keys left after Close")
		}
		// Usable again, with a new file.
		addAll(t, s, 7, 8, 9)
		if !has(t, s, 7) || s.Len() != 3 {
			t.Fatal("the Set does not work after Close")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func files(t testing.TB, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestKeysetIOError checks that a failing file is an error of every call,
// never an answer, until Reset.
func TestKeysetIOError(t *testing.T) {
	s := NewSize(t.TempDir(), 2)
	addAll(t, s, 1, 2, 3, 4, 5)
	if len(s.runs) == 0 {
		t.Fatal("no run")
	}
	s.f.Close() // behind the Set's back: reads fail
	// Memory holds each block's first key: ask for another.
	k := uint64(2)
	if slices.Contains(s.runs[0].fences, mix(k)) {
		k = 3
	}
	_, err := s.Has(k)
	if err == nil {
		t.Fatal("Has of a spilled key with the file closed: no error")
	}
	if !errors.Is(err, os.ErrClosed) {
		t.Fatalf("error %v does not wrap os.ErrClosed", err)
	}
	if _, err2 := s.Has(1000); !errors.Is(err2, os.ErrClosed) {
		t.Fatalf("Has after a failure: %v, want the same error", err2)
	}
	if _, err2 := s.Add(1000); !errors.Is(err2, os.ErrClosed) {
		t.Fatalf("Add after a failure: %v, want the same error", err2)
	}
	s.Reset()
	addAll(t, s, 1, 2, 3, 4, 5, 6)
	if !has(t, s, 1) || has(t, s, 7) {
		t.Fatal("wrong answers after Reset of a failed Set")
	}
	checkShape(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestKeysetNoFolder(t *testing.T) {
	s := NewSize(filepath.Join(t.TempDir(), "missing"), 2)
	addAll(t, s, 1, 2)
	_, err := s.Add(3)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Add that spills into a missing folder: %v, want ErrNotExist", err)
	}
	if _, err2 := s.Has(1); !errors.Is(err2, os.ErrNotExist) {
		t.Fatalf("Has after a failed spill: %v", err2)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKeysetMemoryBounded adds millions of keys and measures the heap:
// what stays in memory is the table, the filters of the runs small enough
// to have one, and the fences (16 bytes per thousand keys): nothing
// that grows with the keys but the fences.
func TestKeysetMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("adds 3,000,000 keys; not with -short")
	}
	const n = 3_000_000
	rng := rand.New(rand.NewPCG(testflags.Seed(t, 2), 0))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(t.TempDir())
	for range n {
		if _, err := s.Add(rng.Uint64()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d keys, %d runs: heap %.1f MB, %.2f bytes a key", s.Len(), len(s.runs), float64(heap)/1e6, float64(heap)/float64(n))
	// The table (2 MiB), the filters (2 x 1.5 bytes x DefaultFilterKeys
	// at most, where a filter for every run would take 4.5 MB) and the
	// fences (16 bytes per thousand keys).
	if limit := int64(2<<20 + 3*DefaultFilterKeys + 2*n/blockKeys*8 + 128<<10); heap > limit {
		t.Fatalf("heap grew by %d bytes for %d keys: over %d", heap, n, limit)
	}
	checkShape(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(s)
}

// TestKeysetFalseHits checks that the Bloom filters spare the disk:
// lookups of absent keys seldom read a block.
func TestKeysetFalseHits(t *testing.T) {
	rng := rand.New(rand.NewPCG(testflags.Seed(t, 3), 0))
	s := NewSize(t.TempDir(), 4096)
	for range 100_000 {
		if _, err := s.Add(rng.Uint64()); err != nil {
			t.Fatal(err)
		}
	}
	s.reads = 0
	const lookups = 100_000
	for range lookups {
		if ok, err := s.Has(rng.Uint64()); err != nil || ok {
			t.Fatalf("Has of a random key: %v, %v", ok, err)
		}
	}
	rate := float64(s.reads) / lookups
	t.Logf("%d runs: %.2f%% of lookups of absent keys read a block", len(s.runs), 100*rate)
	if perRun := rate / float64(len(s.runs)); perRun > 0.01 {
		t.Fatalf("%.2f%% of lookups read a block of a run: the Bloom filters should keep it under 0.5%%", 100*perRun)
	}
}

// FuzzKeyset runs a program of Adds, Hasses and Resets on a Set with a
// tiny table and compares each answer with a map's.
func FuzzKeyset(f *testing.F) {
	f.Add(byte(1), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3})
	f.Add(byte(3), []byte("the same keys again and again, and again"))
	f.Add(byte(0), []byte{0xff, 0, 0x80, 0x7f, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, bound byte, prog []byte) {
		s := NewSize(t.TempDir(), int(bound%16)+1)
		s.filterKeys = int(bound>>4) + 1
		defer s.Close()
		want := map[uint64]bool{}
		for i, b := range prog {
			// The top bits choose the operation, the rest the key; keys
			// are spread by a multiplication so that runs interleave.
			k := uint64(b&0x3f) * 0x9e3779b97f4a7c15
			switch b >> 6 {
			case 0, 1:
				added, err := s.Add(k)
				if err != nil {
					t.Fatal(err)
				}
				if added == want[k] {
					t.Fatalf("op %d: Add(%#x) = %v, present before: %v", i, k, added, want[k])
				}
				want[k] = true
			case 2:
				if got := has(t, s, k); got != want[k] {
					t.Fatalf("op %d: Has(%#x) = %v, want %v", i, k, got, want[k])
				}
			case 3:
				if b == 0xff {
					s.Reset()
					clear(want)
				} else if got := has(t, s, k); got != want[k] {
					t.Fatalf("op %d: Has(%#x) = %v, want %v", i, k, got, want[k])
				}
			}
			if s.Len() != len(want) {
				t.Fatalf("op %d: Len %d, want %d", i, s.Len(), len(want))
			}
		}
		checkShape(t, s)
	})
}

// BenchmarkKeyset adds new random keys as a reader meets new receipts,
// with New's table: ns/op is one Has and one Add; bytes/key is the heap
// the Set holds at the end; reads/op the blocks read from the file.
func BenchmarkKeyset(b *testing.B) {
	for _, mode := range []string{"Has+Add", "Add"} {
		b.Run(mode, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := New(b.TempDir())
			defer s.Close()
			b.ResetTimer()
			for b.Loop() {
				k := rng.Uint64()
				if mode == "Has+Add" {
					if ok, err := s.Has(k); err != nil || ok {
						b.Fatal(ok, err)
					}
				}
				if ok, err := s.Add(k); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(s.Len()), "bytes/key")
			b.ReportMetric(float64(s.reads)/float64(s.Len()), "reads/op")
			b.ReportMetric(float64(s.Len()), "keys")
		})
	}
}
