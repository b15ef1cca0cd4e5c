package ledger

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPageCachePool: a process whose first SQLite database is a ledger
// gives SQLite a page cache pool of ledger.cache_mib and an eighth more,
// and the ledger's pages are cached in it. The check runs in a process
// of its own (the test binary run again), since SQLite takes the pool
// only before its first database is opened.
func TestPageCachePool(t *testing.T) {
	if os.Getenv("POINTSYNC_PAGECACHE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPageCachePool$", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), "POINTSYNC_PAGECACHE_CHILD="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	const cacheMiB = 4
	l, err := Open(context.Background(), Options{Path: filepath.Join(os.Getenv("POINTSYNC_PAGECACHE_CHILD"), "ledger.db"),
		Programs: testPrograms, CacheMiB: cacheMiB})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := newH(t, l)
	for i := range 2000 {
		h.customer(Ident("web:" + strconv.Itoa(i)))
	}
	s := SQLitePageCache()
	if s.PoolError != nil {
		t.Fatalf("no pool: %v", s.PoolError)
	}
	if s.SlotBytes < ledgerPageSize || s.SlotBytes > ledgerPageSize+1024 || s.SlotBytes%8 != 0 {
		t.Errorf("slot of %d bytes, want a page of %d and SQLite's headers", s.SlotBytes, ledgerPageSize)
	}
	if want := (cacheMiB + cacheMiB/8) << 20 / s.SlotBytes; s.PoolSlots != want {
		t.Errorf("%d slots, want %d", s.PoolSlots, want)
	}
	if s.PoolUsed < 20 || s.PoolUsed > s.PoolSlots {
		t.Errorf("%d slots of %d hold pages after writing 2,000 customers", s.PoolUsed, s.PoolSlots)
	}
	// A second ledger in the process keeps the first one's pool.
	l2, err := Open(context.Background(), Options{Path: filepath.Join(os.Getenv("POINTSYNC_PAGECACHE_CHILD"), "second.db"),
		Programs: testPrograms, CacheMiB: 64, Clock: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if s2 := SQLitePageCache(); s2.PoolSlots != s.PoolSlots || s2.PoolError != nil {
		t.Errorf("after a second ledger: %+v", s2)
	}
}
