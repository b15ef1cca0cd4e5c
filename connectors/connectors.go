// Package connectors defines how pointsync talks to the systems around
// it: a Source is read in batches from a cursor, a Sink is told the
// balances that changed. Each kind of connector is a sub-package
// (csvdrop, httpjson, and the SQL sources); the daemon wraps them with
// scheduling, retries, status and the one transaction that makes a batch
// exactly-once, so a connector only reads and writes its own system.
package connectors

import (
	"context"
	"time"

	"github.com/pointsync/pointsync/mapping"
)

// Cursor is where a source stands: opaque text that only the source
// reads. The empty cursor is the start.
type Cursor string

// Batch is what one Fetch brought: items in the order the source read
// them and the cursor to store once they are applied. The items, the
// movements they cause and Next commit in one transaction.
type Batch struct {
	Items []mapping.Item
	Next  Cursor
	// Unit is the key of the input the items come from (a drop file's
	// content key, as in Done), under which their rejects are kept until
	// the input is finished; "" for sources without units.
	Unit string
	// Done, when set, is a whole input (a drop file) this batch finishes:
	// the daemon records it in the same transaction, so the same content
	// arriving again under another name is recognised (see Seen).
	Done *Unit
	// More says the source has more to read now: the daemon fetches
	// again at once instead of waiting for the next schedule.
	More bool
}

// Unit is a whole input, known by its content.
type Unit struct {
	Key  string // identity of the content, e.g. "sha256:..." of a file
	Name string // for people: the file name
	Rows int    // records read from it
}

// Reject is an item that was not applied, with where it came from and
// why, as the daemon stored it.
type Reject struct {
	Origin string // file name or URL
	Line   int    // physical line, 0 when not a file
	Column string // logical field at fault, "" for the whole record
	Value  string
	Reason string
}

// Source reads facts from a system. Fetch returns at most limit items
// after the cursor; called again with the same cursor it returns the same
// batch (the daemon refetches after a crash or a failed commit), and
// called with the Next of a batch that was applied it goes on from there.
type Source interface {
	Fetch(ctx context.Context, after Cursor, limit int) (Batch, error)
}

// Acker is a source that acts once a batch is durable: a drop folder
// moves a finished file to its archive with the report of its rejected
// rows. Ack must be safe to repeat; after a crash between commit and
// Ack, Fetch from the stored cursor returns the finishing batch again.
type Acker interface {
	Ack(ctx context.Context, b Batch, rejects []Reject) error
}

// Lagger is a source that can tell how far behind the daemon is, such as
// the age of the oldest file waiting in an inbox.
type Lagger interface {
	Lag(ctx context.Context, now time.Time) (time.Duration, error)
}

// Prober is a connector that can check its configuration against the
// system without changing anything (check-config --connect).
type Prober interface {
	Probe(ctx context.Context) error
}

// Closer is a connector holding resources (connections, files).
type Closer interface {
	Close() error
}

// Balance is one customer's balance in one program, as sinks receive it.
// Figures are points, or cents for amount programs.
type Balance struct {
	Program     string     `json:"program"`
	Customer    string     `json:"customer"`    // the customer's first identifier, e.g. web:42
	Identifiers []string   `json:"identifiers"` // every identifier of the customer
	Earned      int64      `json:"earned"`
	Provisional int64      `json:"provisional"`
	Spent       int64      `json:"spent"`
	Expired     int64      `json:"expired"`
	Expiring    []Expiring `json:"expiring"`
}

// Expiring is points still to expire at the end of a day.
type Expiring struct {
	Date   string `json:"date"` // YYYY-MM-DD in the program's zone
	Points int64  `json:"points"`
}

// Sink is told the balances that changed since it was last written.
// Write must be idempotent: after a failure the same items come again.
type Sink interface {
	Write(ctx context.Context, items []Balance) error
}
