package ledger

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page cache pool.
//
// modernc.org/sqlite builds SQLite with SQLITE_ENABLE_MEMORY_MANAGEMENT,
// which turns off the page cache's bulk allocation: every cached page is
// one allocation of its 4,096 bytes and SQLite's headers (about 4.4 KB),
// and the allocator of the pure-Go libc puts each in a slot of 8 KiB. The
// 16 MiB of ledger.cache_mib cost 32 MiB of the process's memory, a third
// of a drop ingest's peak. SQLITE_CONFIG_PAGECACHE gives SQLite one buffer
// of exactly sized slots instead; pages past it are allocated as before,
// and once it runs low the caches reuse their own pages rather than grow
// (SQLite's "memory pressure").

// pageCachePool is set up once per process, before SQLite is first used.
var pageCachePool struct {
	once sync.Once
	done atomic.Pointer[poolSetup] // what the setup did, once it has
}

type poolSetup struct {
	slots int
	size  int // bytes of a slot
	err   error
}

// ledgerPageSize is the page size of the ledger's databases (SQLite's
// default, never changed).
const ledgerPageSize = 4096

// setupPageCache gives SQLite a pool of about mib MiB for cached pages. It
// must run before the process opens its first SQLite database: SQLite
// takes the setting when it initializes, and refuses it afterwards
// (SQLITE_MISUSE), in which case the pages are allocated one by one as
// without it. Only the first call does anything; SQLitePageCache reports
// what it did.
func setupPageCache(mib int) error {
	p := &pageCachePool
	p.once.Do(func() {
		var r poolSetup
		r.slots, r.size, r.err = configurePageCache(mib)
		p.done.Store(&r)
	})
	return p.done.Load().err
}

func configurePageCache(mib int) (int, int, error) {
	if mib <= 0 {
		return 0, 0, nil
	}
	tls := libc.NewTLS()
	defer tls.Close()
	hdr := libc.Xmalloc(tls, 8)
	if hdr == 0 {
		return 0, 0, fmt.Errorf("ledger: SQLite page cache: out of memory")
	}
	defer libc.Xfree(tls, hdr)
	va := libc.NewVaList(hdr)
	defer libc.Xfree(tls, va)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE_HDRSZ, va); rc != sqlite3.SQLITE_OK {
		return 0, 0, fmt.Errorf("ledger: SQLite page cache: header size: error %d", rc)
	}
	size := (ledgerPageSize + int(cInt(hdr)) + 7) &^ 7
	slots := mib << 20 / size
	buf := libc.Xmalloc(tls, types.Size_t(slots*size)) // kept for the process's life
	if buf == 0 {
		return 0, 0, fmt.Errorf("ledger: SQLite page cache: out of memory for %d MiB", mib)
	}
	va2 := libc.NewVaList(buf, int32(size), int32(slots))
	defer libc.Xfree(tls, va2)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PAGECACHE, va2); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, buf)
		return 0, 0, fmt.Errorf("ledger: SQLite page cache: SQLite was already in use in this process (error %d); pages are allocated one by one", rc)
	}
	return slots, size, nil
}

// PageCacheStats is what SQLite's page cache holds in the process.
type PageCacheStats struct {
	PoolSlots    int   // slots of the pool (0: no pool yet, or see PoolError)
	SlotBytes    int   // bytes of a slot
	PoolUsed     int   // slots holding a page now
	OutsideBytes int64 // bytes of pages allocated outside the pool now
	PoolError    error // why there is no pool
}

// SQLitePageCache reports how SQLite's page cache uses the process's
// memory: its pool's slots and what was allocated past them.
func SQLitePageCache() PageCacheStats {
	var s PageCacheStats
	if r := pageCachePool.done.Load(); r != nil {
		s.PoolSlots, s.SlotBytes, s.PoolError = r.slots, r.size, r.err
	}
	tls := libc.NewTLS()
	defer tls.Close()
	out := libc.Xmalloc(tls, 8)
	if out == 0 {
		return s
	}
	defer libc.Xfree(tls, out)
	status := func(op int32) int64 {
		if sqlite3.Xsqlite3_status(tls, op, out, out+4, 0) != sqlite3.SQLITE_OK {
			return 0
		}
		return int64(cInt(out))
	}
	s.PoolUsed = int(status(sqlite3.SQLITE_STATUS_PAGECACHE_USED))
	s.OutsideBytes = status(sqlite3.SQLITE_STATUS_PAGECACHE_OVERFLOW)
	return s
}

// cInt reads the C int SQLite wrote at p (the pure-Go libc's memory).
func cInt(p uintptr) int32 {
	return int32(binary.NativeEndian.Uint32(libc.GoBytes(p, 4)))
}
