// Package keyset is an exact set of 64-bit hashes whose memory stays
// bounded however many keys it holds, for the question a streaming reader
// asks of every receipt of a file: was it met before? The newest keys live
// in a table in memory; when it is full they are sorted and written as a
// run to a temporary file, of which memory keeps only the first key of
// each block and, for runs up to a size, a Bloom filter. A lookup reads
// one block of a run when its filter says yes, or when it has none. Answers
// are exact: a Bloom filter's false hit costs a read, never a wrong answer.
// Memory is bounded whatever the number of keys, but for the first key of
// each block: 16 bytes for a thousand keys.
package keyset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
)

// DefaultMemKeys is how many keys New keeps in memory before it spills
// them to the file: a table of 2 MiB.
const DefaultMemKeys = 1 << 17

// DefaultFilterKeys is the largest run that gets a Bloom filter: 1.5 MiB
// of it. Runs halve in size from the oldest, so the filters of a Set take
// at most twice that. A lookup of an absent key reads one block of each
// larger run instead: the oldest runs, some log2(keys/DefaultFilterKeys)
// of them, each a pread of 4 KiB that the system's page cache most often
// answers. Without the bound the filters would grow by 1.5 bytes a key:
// 9 MiB for a drop file of 6,000,000 receipts.
const DefaultFilterKeys = 1 << 20

const (
	// blockKeys is the keys of a run one lookup reads: 4 KiB. Memory keeps
	// 8 bytes per block (0.016 bytes a key).
	blockKeys = 512
	// bitsPerKey sizes a run's Bloom filter: about 0.4% of lookups of an
	// absent key read a block of that run.
	bitsPerKey = 12
	// ioKeys is the keys a spill, a merge or a copy reads or writes at a
	// time: 64 KiB.
	ioKeys = 8192
)

// Set is a set of uint64 keys, meant for hashes: the keys are mixed again
// before use, so even consecutive numbers spread well. Memory is the
// table of the keys not yet spilled (at most memKeys of them, 16 to 32
// bytes each: 2 MiB for New), the Bloom filters of the runs of up to
// DefaultFilterKeys keys (1.5 bytes a key, 3 MiB at most), and 16 bytes
// per thousand keys spilled; a merge of runs briefly holds a second filter
// the size of the two it merges. Make one with New or NewSize. A Set is
// not safe for concurrent use.
//
// Has and Add fail only on an I/O error of the temporary file. The Set
// cannot answer after that: every call returns the same error until Reset
// or Close.
type Set struct {
	dir        string
	bound      int // keys the table holds before they spill
	filterKeys int // the largest run that gets a Bloom filter

	table []uint64 // open addressing, linear probing; 0 is a free slot
	shift uint     // 64 - log2(len(table))
	used  int      // keys in table
	zero  bool     // key 0, which the table cannot hold

	runs    []run // in file order, oldest first, each smaller than the one before
	spilled int   // keys in runs
	f       *os.File
	path    string // to remove at Close; "" once unlinked
	end     int64  // bytes of f in use
	block   []byte // a block read by a lookup
	err     error

	keepName bool // tests: leave the file's name, as where it cannot be unlinked while open
	reads    int  // blocks read by lookups, for tests and the benchmark
}

// run is a sorted run of keys at off in the file.
type run struct {
	off    int64
	n      int
	fences []uint64 // the first key of each block
	bloom  bloom
}

// New returns an empty Set that keeps up to DefaultMemKeys keys in memory
// and spills the others to a temporary file in dir ("" for os.TempDir()).
// The file is made at the first spill, under a hidden name (.keyset-*),
// and removed from the folder at once where the system allows it (Unix),
// so that nothing stays behind even when the process dies; elsewhere
// Close removes it.
func New(dir string) *Set { return NewSize(dir, DefaultMemKeys) }

// NewSize is New keeping up to memKeys keys in memory (at least 1).
// math.MaxInt makes a Set that never touches the disk, whose Has and Add
// never fail.
func NewSize(dir string, memKeys int) *Set {
	return &Set{dir: dir, bound: max(memKeys, 1), filterKeys: DefaultFilterKeys}
}

// Len returns the number of keys in the set.
func (s *Set) Len() int {
	n := s.used + s.spilled
	if s.zero {
		n++
	}
	return n
}

// Has reports whether k is in the set.
func (s *Set) Has(k uint64) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	k = mix(k)
	if k == 0 {
		return s.zero, nil
	}
	if s.used > 0 {
		if _, ok := s.slot(k); ok {
			return true, nil
		}
	}
	return s.inRuns(k)
}

// Add puts k in the set and reports whether it was new: false when it
// was there already. Testing and adding at once costs one lookup, not two.
func (s *Set) Add(k uint64) (added bool, err error) {
	if s.err != nil {
		return false, s.err
	}
	k = mix(k)
	if k == 0 {
		added, s.zero = !s.zero, true
		return added, nil
	}
	if s.used > 0 {
		if _, ok := s.slot(k); ok {
			return false, nil
		}
	}
	if found, err := s.inRuns(k); found || err != nil {
		return false, err
	}
	if s.used >= s.bound {
		if err := s.spill(); err != nil {
			return false, s.fail(err)
		}
	}
	if 2*(s.used+1) > len(s.table) {
		s.grow()
	}
	i, _ := s.slot(k)
	s.table[i] = k
	s.used++
	return true, nil
}

// Reset empties the set and clears its error. The file is kept, emptied,
// for the next spills.
func (s *Set) Reset() {
	switch {
	case len(s.table) > 2*DefaultMemKeys:
		s.table = nil // a Set that never spills gives its memory back
	case s.used == 0:
	case 4*s.used >= len(s.table):
		clear(s.table)
	default:
		// Clearing a large table for a few keys, at every Reset of many,
		// would cost more than growing a new one.
		s.table = nil
	}
	dirty := s.end > 0 || s.err != nil
	s.used, s.zero = 0, false
	s.runs, s.spilled, s.end = nil, 0, 0
	s.err = nil
	if s.f != nil && dirty {
		if err := s.f.Truncate(0); err != nil {
			// A new file is made at the next spill.
			_ = s.closeFile()
		}
	}
}

// Close empties the set and removes its file. The Set may be used again:
// a new file is made when needed.
func (s *Set) Close() error {
	s.table, s.used, s.zero = nil, 0, false
	s.runs, s.spilled, s.end = nil, 0, 0
	s.err = nil
	return s.closeFile()
}

func (s *Set) closeFile() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.path != "" {
		if rerr := os.Remove(s.path); rerr != nil && err == nil {
			err = fmt.Errorf("keyset: %w", rerr)
		}
	}
	s.f, s.path = nil, ""
	return err
}

// fail makes err the Set's error, for every call until Reset.
func (s *Set) fail(err error) error {
	s.err = fmt.Errorf("keyset: %w", err)
	return s.err
}

// slot returns where k is in the table, or the free slot where it goes.
// The table is never more than half full, so a free slot is near. A key's
// first slot is its high bits: the table is then in order but for the
// keys a collision moved a few slots on, and sorts quickly at a spill.
func (s *Set) slot(k uint64) (int, bool) {
	mask := uint64(len(s.table) - 1)
	for i := k >> s.shift; ; i = (i + 1) & mask {
		switch s.table[i] {
		case k:
			return int(i), true
		case 0:
			return int(i), false
		}
	}
}

// grow doubles the table.
func (s *Set) grow() {
	old := s.table
	s.table = make([]uint64, max(16, 2*len(old)))
	s.shift = uint(64 - bits.Len(uint(len(s.table)-1)))
	for _, k := range old {
		if k != 0 {
			i, _ := s.slot(k)
			s.table[i] = k
		}
	}
}

// inRuns reports whether k is in a run of the file.
func (s *Set) inRuns(k uint64) (bool, error) {
	for i := len(s.runs) - 1; i >= 0; i-- {
		r := &s.runs[i]
		if !r.bloom.has(k) {
			continue
		}
		found, err := s.search(r, k)
		if err != nil {
			return false, s.fail(err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

// search looks for k in r: the fences in memory name the one block that
// may hold it.
func (s *Set) search(r *run, k uint64) (bool, error) {
	b, found := slices.BinarySearch(r.fences, k)
	if found {
		return true, nil
	}
	if b == 0 {
		return false, nil // before the run's first key
	}
	b--
	n := min(blockKeys, r.n-b*blockKeys)
	if s.block == nil {
		s.block = make([]byte, 8*blockKeys)
	}
	buf := s.block[:8*n]
	if err := s.readAt(buf, r.off+8*int64(b*blockKeys)); err != nil {
		return false, err
	}
	s.reads++
	lo, hi := 1, n // the block's first key is its fence, already compared
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if binary.LittleEndian.Uint64(buf[8*m:]) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < n && binary.LittleEndian.Uint64(buf[8*lo:]) == k, nil
}

func (s *Set) readAt(buf []byte, off int64) error {
	_, err := s.f.ReadAt(buf, off)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %d bytes at %d: %w (the file was cut short)", s.f.Name(), len(buf), off, io.ErrUnexpectedEOF)
	}
	return err
}

// spill writes the table's keys as a new run at the end of the file and
// empties the table, then merges runs to keep them few.
func (s *Set) spill() error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, ".keyset-*")
		if err != nil {
			return err
		}
		s.f, s.path = f, f.Name()
		if !s.keepName && os.Remove(f.Name()) == nil {
			// The open file outlives its name, and the system frees it
			// when it is closed, by Close or by the process's end.
			s.path = ""
		}
	}
	// The table is sorted in place: the keys first, then the free slots
	// cleared behind them.
	keys := s.table[:0]
	for _, k := range s.table {
		if k != 0 {
			keys = append(keys, k)
		}
	}
	clear(s.table[len(keys):])
	slices.Sort(keys)
	w := s.newWriter(s.end, len(keys))
	for _, k := range keys {
		if err := w.add(k); err != nil {
			return err
		}
	}
	r, err := w.finish()
	if err != nil {
		return err
	}
	clear(keys)
	s.used = 0
	s.runs = append(s.runs, r)
	s.spilled += r.n
	s.end += 8 * int64(r.n)
	return s.compact()
}

// compact merges the two newest runs while the older is not larger:
// sizes then halve from run to run, so that a lookup checks at most
// log2(spilled/memKeys)+1 runs and a key is written about as many times.
func (s *Set) compact() error {
	for len(s.runs) >= 2 {
		a, b := s.runs[len(s.runs)-2], s.runs[len(s.runs)-1]
		if a.n > b.n {
			return nil
		}
		m, err := s.merge(a, b)
		if err != nil {
			return err
		}
		s.runs = append(s.runs[:len(s.runs)-2], m)
		s.spilled += m.n - a.n - b.n
	}
	return nil
}

// merge writes the union of a and b, the last two runs of the file, after
// them, then copies it back over them and cuts the file after it: the
// file holds no more than twice the keys spilled.
func (s *Set) merge(a, b run) (run, error) {
	tail := s.end
	ra := s.newReader(a)
	rb := s.newReader(b)
	w := s.newWriter(tail, a.n+b.n)
	ka, okA, err := ra.next()
	if err != nil {
		return run{}, err
	}
	kb, okB, err := rb.next()
	if err != nil {
		return run{}, err
	}
	for okA || okB {
		var k uint64
		switch {
		case okA && (!okB || ka <= kb):
			k = ka
			if okB && kb == ka {
				if kb, okB, err = rb.next(); err != nil {
					return run{}, err
				}
			}
			ka, okA, err = ra.next()
		default:
			k = kb
			kb, okB, err = rb.next()
		}
		if err != nil {
			return run{}, err
		}
		if err := w.add(k); err != nil {
			return run{}, err
		}
	}
	m, err := w.finish()
	if err != nil {
		return run{}, err
	}
	src := io.NewSectionReader(s.f, tail, 8*int64(m.n))
	dst := io.NewOffsetWriter(s.f, a.off)
	if _, err := io.CopyBuffer(dst, src, w.buf[:cap(w.buf)]); err != nil {
		return run{}, err
	}
	m.off = a.off
	s.end = a.off + 8*int64(m.n)
	if err := s.f.Truncate(s.end); err != nil {
		return run{}, err
	}
	return m, nil
}

// writer writes a run of sorted keys, building its fences and Bloom
// filter on the way.
type writer struct {
	f   *os.File
	off int64 // where the next bytes go
	r   run
	buf []byte
}

func (s *Set) newWriter(off int64, n int) *writer {
	return &writer{
		f: s.f, off: off,
		r:   run{off: off, fences: make([]uint64, 0, (n+blockKeys-1)/blockKeys), bloom: newBloom(n, s.filterKeys)},
		buf: make([]byte, 0, 8*min(n, ioKeys)),
	}
}

func (w *writer) add(k uint64) error {
	if w.r.n%blockKeys == 0 {
		w.r.fences = append(w.r.fences, k)
	}
	w.r.bloom.add(k)
	w.r.n++
	w.buf = binary.LittleEndian.AppendUint64(w.buf, k)
	if len(w.buf) == cap(w.buf) {
		return w.flush()
	}
	return nil
}

func (w *writer) flush() error {
	if _, err := w.f.WriteAt(w.buf, w.off); err != nil {
		return err
	}
	w.off += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

func (w *writer) finish() (run, error) {
	if err := w.flush(); err != nil {
		return run{}, err
	}
	return w.r, nil
}

// reader reads a run from its first key.
type reader struct {
	s    *Set
	off  int64 // of the next bytes to read
	left int   // keys not read yet
	buf  []byte
	pos  int
}

func (s *Set) newReader(r run) *reader {
	return &reader{s: s, off: r.off, left: r.n, buf: make([]byte, 0, 8*min(r.n, ioKeys))}
}

// next returns the next key; false at the end of the run.
func (r *reader) next() (uint64, bool, error) {
	if r.pos == len(r.buf) {
		if r.left == 0 {
			return 0, false, nil
		}
		n := min(r.left, ioKeys)
		r.buf = r.buf[:8*n]
		if err := r.s.readAt(r.buf, r.off); err != nil {
			return 0, false, err
		}
		r.off += 8 * int64(n)
		r.left -= n
		r.pos = 0
	}
	k := binary.LittleEndian.Uint64(r.buf[r.pos:])
	r.pos += 8
	return k, true, nil
}

// bloom is a blocked Bloom filter: a key sets one bit in each word of a
// block of 8 words, one cache line, so that a lookup touches one line.
// The zero bloom is no filter: every key may be in the run.
type bloom struct {
	words  []uint64
	blocks uint64
}

// newBloom is the filter of a run of up to n keys, or none when n is over
// limit.
func newBloom(n, limit int) bloom {
	if n > limit {
		return bloom{}
	}
	blocks := max(1, (uint64(n)*bitsPerKey+511)/512)
	return bloom{words: make([]uint64, 8*blocks), blocks: blocks}
}

// block picks a key's block from its high half, so that the keys of a
// run, in order, fill the filter from its first block to its last; the
// bits come from another hash of the key.
func (b *bloom) block(k uint64) (*[8]uint64, uint64) {
	i := ((k >> 32) * b.blocks) >> 32
	return (*[8]uint64)(b.words[8*i : 8*i+8]), mix(k + 0x9e3779b97f4a7c15)
}

func (b *bloom) add(k uint64) {
	if b.blocks == 0 {
		return
	}
	w, pos := b.block(k)
	for j := range w {
		w[j] |= 1 << (pos & 63)
		pos >>= 6
	}
}

func (b *bloom) has(k uint64) bool {
	if b.blocks == 0 {
		return true
	}
	w, pos := b.block(k)
	for j := range w {
		if w[j]&(1<<(pos&63)) == 0 {
			return false
		}
		pos >>= 6
	}
	return true
}

// mix is splitmix64's finaliser, a bijection that spreads every bit of x
// over all of the result, and keeps 0 as 0. Has and Add mix the keys
// they are given: inside the Set, in the table, the runs and the filters,
// a key is its mix.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
