package ledger

import "sync"

// identCacheSize bounds the identifiers the ledger remembers: about 100
// bytes each with their text, 1.6 MiB at most. It was 65,536 (6.5 MiB):
// that kept every card of a drop of 60,000 cards, but at 200,000 cards or
// more a third or less of the lookups hit anyway, and the memory counted
// against the drop ingest's target (BENCHMARKS.md).
const identCacheSize = 1 << 14

// identCache remembers committed identifiers and their customers, so that
// the facts of a card or customer seen in an earlier batch do not look it
// up again. An identifier, once committed, names the same customer for
// ever: the ledger only adds identifiers (Link refuses to move one, and
// nothing deletes them), whichever process or daemon wrote them, so an
// entry never goes stale. When full, it starts again empty.
type identCache struct {
	mu sync.Mutex
	m  map[Ident]int64
}

func (c *identCache) get(id Ident) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cid, ok := c.m[id]
	return cid, ok
}

// add remembers the identifiers of a committed transaction.
func (c *identCache) add(ids map[Ident]int64) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(ids) > identCacheSize {
		c.m = make(map[Ident]int64, min(identCacheSize, 2*len(ids)))
	}
	for id, cid := range ids {
		if len(c.m) >= identCacheSize {
			return
		}
		c.m[id] = cid
	}
}
