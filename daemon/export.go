package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/connectors/httpjson"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/internal/atomicfile"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// leaseGuard is the check an export makes right before it writes outside
// the ledger (a file, a shop's table, a webservice). On a ledger fenced
// with a lease (daemons sharing a MySQL ledger, sync --once there) it
// fails with ledger.ErrLeaseLost unless the lease is surely this
// process's, by this host's clock, for a third of its TTL more: renewals
// come every third, so a lease with less left is one the daemon is about
// to count as lost. The ledger's fence keeps a daemon that lost its lease
// from writing to the ledger; only this check keeps it from writing
// elsewhere, so that a daemon that stalled (frozen, paused) while a
// standby took over does not, on resuming, overwrite the standby's newer
// figures with its older ones. A stall between the check and the write
// itself is not covered: nothing outside the ledger takes part in the
// fence. On an unfenced ledger it passes.
func leaseGuard(l *ledger.Ledger) func() error {
	return func() error {
		lease := l.Fence()
		if lease == nil {
			return nil
		}
		left := time.Until(lease.ValidUntil())
		if margin := lease.TTL() / 3; left < margin {
			return fmt.Errorf("%w: the ledger's lease (fence %d) is not surely this daemon's for another %s (%s left by this host's clock): nothing written",
				ledger.ErrLeaseLost, lease.Fence(), margin, max(left, 0).Round(time.Millisecond))
		}
		return nil
	}
}

// WriteFileAtomic writes a file through a temporary name in the same
// folder and renames it into place, so a till never reads half a file.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	return writeFileAtomic(path, write, nil)
}

// writeFileAtomic is WriteFileAtomic that, when guard is set, asks it
// right before the rename and leaves the old file when it fails.
func writeFileAtomic(path string, write func(io.Writer) error, guard func() error) error {
	return atomicfile.Write(path, 0o644, write, guard)
}

// tillFiles writes the card balance files of a program for the tills:
// one global file, or one per store when the path has {store}.
type tillFiles struct {
	ledger  *ledger.Ledger
	program rules.Program
	path    string
	stores  []string
	dialect csvio.Dialect
	guard   func() error // leaseGuard, before each file replaces the old one
}

// probe checks that every file's folder takes new files (the nearest
// existing folder, for one run creates), leaving nothing behind.
func (t *tillFiles) probe(context.Context) error {
	var errs []error
	for _, path := range t.paths() {
		dir := filepath.Dir(path)
		for {
			if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		f, err := os.CreateTemp(dir, ".pointsync-probe-*")
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot write in %s: %w", dir, err))
			continue
		}
		name := f.Name()
		f.Close()
		if err := os.Remove(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// paths are the files the export writes.
func (t *tillFiles) paths() []string {
	if len(t.stores) == 0 {
		return []string{t.path}
	}
	out := make([]string, 0, len(t.stores))
	for _, s := range t.stores {
		out = append(out, strings.ReplaceAll(t.path, "{store}", s))
	}
	return out
}

func (t *tillFiles) run(_, abort context.Context) (outcome, error) {
	var out outcome
	for _, p := range t.paths() {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return out, err
		}
		err := writeFileAtomic(p, func(w io.Writer) error {
			n, err := bulk.Export(abort, t.ledger, w, bulk.ExportOptions{Program: t.program, Dialect: t.dialect, CardsOnly: true})
			out.Rows += int64(n)
			return err
		}, t.guard)
		if err != nil {
			return out, fmt.Errorf("write %s: %w", p, err)
		}
	}
	return out, nil
}

// pusher sends the shop what changed since its last push: the balances of
// the customers with new movements, or the movements themselves. Its
// cursor is the last movement id pushed, stored like a connector's.
type pusher struct {
	name      string
	ledger    *ledger.Ledger
	program   string
	movements bool
	sink      connectors.Sink // movements: a movementSink
	batch     int
	log       *zap.Logger
	guard     func() error // leaseGuard, before each write to the sink
}

// movementSink is a sink that takes movements as well as balances.
type movementSink interface {
	WriteMovements(ctx context.Context, items []httpjson.Movement) error
}

func (p *pusher) cursorName() string { return "export:" + p.name }

// check runs the guard, if any, right before a write to the sink.
func (p *pusher) check() error {
	if p.guard == nil {
		return nil
	}
	return p.guard()
}

func (p *pusher) run(stop, abort context.Context) (outcome, error) {
	var out outcome
	for stop.Err() == nil {
		text, err := p.ledger.Cursor(abort, p.cursorName())
		if err != nil {
			return out, err
		}
		var after int64
		if text != "" {
			if after, err = strconv.ParseInt(text, 10, 64); err != nil {
				return out, fmt.Errorf("stored cursor %q is not a movement id", text)
			}
		}
		n, last, err := p.push(abort, after)
		out.Rows += int64(n)
		if err != nil || last == after {
			return out, err
		}
		if err := p.ledger.Update(abort, func(tx *ledger.Tx) error {
			return tx.SetCursor(p.cursorName(), strconv.FormatInt(last, 10))
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// push sends one page after movement id after and returns the id to
// continue from.
func (p *pusher) push(ctx context.Context, after int64) (int, int64, error) {
	if p.movements {
		ms, err := p.ledger.MovementsAfter(ctx, after, p.batch)
		if err != nil || len(ms) == 0 {
			return 0, after, err
		}
		items := make([]httpjson.Movement, 0, len(ms))
		for _, m := range ms {
			if m.Program != p.program {
				continue
			}
			items = append(items, httpjson.Movement{ID: m.ID, Program: m.Program, Customer: string(m.Customer), Kind: string(m.Kind),
				State: string(m.State), Source: m.Source, Key: m.Key, Document: m.Document, Note: m.Note, Points: m.Signed(),
				At: m.BusinessAt, RecordedAt: m.RecordedAt})
		}
		if len(items) > 0 {
			ms, ok := p.sink.(movementSink)
			if !ok {
				return 0, after, fmt.Errorf("export %s cannot push movements", p.name)
			}
			if err := p.check(); err != nil {
				return 0, after, err
			}
			if err := ms.WriteMovements(ctx, items); err != nil {
				return 0, after, err
			}
		}
		return len(items), ms[len(ms)-1].ID, nil
	}
	ids, last, err := p.ledger.ChangedCustomers(ctx, p.program, after, p.batch)
	if err != nil || len(ids) == 0 {
		return 0, last, err
	}
	items := make([]connectors.Balance, 0, len(ids))
	now := p.ledger.Now()
	for _, id := range ids {
		b, err := p.ledger.Balance(ctx, ledger.Account{Program: p.program, Customer: id}, now)
		if err != nil {
			return 0, after, fmt.Errorf("balance of %s: %w", id, err)
		}
		all, err := p.ledger.Identifiers(ctx, id)
		if err != nil {
			return 0, after, err
		}
		item := connectors.Balance{Program: b.Program, Customer: string(b.Customer), Earned: b.Earned, Provisional: b.Provisional,
			Spent: b.Spent, Expired: b.Expired, Expiring: []connectors.Expiring{}}
		for _, x := range all {
			item.Identifiers = append(item.Identifiers, string(x))
		}
		slices.Sort(item.Identifiers)
		for _, x := range b.Expiring {
			item.Expiring = append(item.Expiring, connectors.Expiring{Date: x.Date, Points: x.Points})
		}
		items = append(items, item)
	}
	if err := p.check(); err != nil {
		return 0, after, err
	}
	if err := p.sink.Write(ctx, items); err != nil {
		return 0, after, err
	}
	return len(items), last, nil
}
