// Package notify owns the notifications of SPEC 3.6: it writes events to
// the ledger's outbox in the transaction of the movement they announce
// (points earned, prize threshold reached) or from a scan (points expiring
// soon), and delivers them to the configured webhook, signed, retried
// with backoff until the receiver accepts them, at least once and across
// restarts. Every event has an id receivers deduplicate on.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// Options build a Notifier.
type Options struct {
	// Config gives the notifications section and the programs (their zones
	// and prize catalogs).
	Config *configs.Config
	Ledger *ledger.Ledger
	// Logger; nil means no logs.
	Logger *zap.Logger
	// Clock gives "now"; nil means time.Now.
	Clock func() time.Time
	// Client posts to the webhook; nil means a client with
	// notifications.webhook.timeout that does not follow redirects.
	Client *http.Client
}

// program is what the notifier needs of a program.
type program struct {
	rules.Program
	catalogs []rules.Catalog
}

// Notifier writes and delivers the notifications of one ledger.
type Notifier struct {
	cfg      configs.Notifications
	l        *ledger.Ledger
	programs map[string]program
	ids      []string // program ids, sorted
	log      *zap.Logger
	clock    func() time.Time
	client   *http.Client
	target   string // the webhook URL
	shown    string // the URL without query, for logs and errors
	secret   []byte

	wake    chan struct{} // a delivery round is due before the poll
	pending atomic.Bool   // the hook enqueued; wake at the next commit
}

// New checks the notifications section and returns a Notifier.
func New(o Options) (*Notifier, error) {
	if o.Config == nil || o.Ledger == nil {
		return nil, errors.New("notify: a configuration and a ledger are needed")
	}
	n := &Notifier{
		cfg:      o.Config.Notifications,
		l:        o.Ledger,
		programs: map[string]program{},
		log:      o.Logger,
		clock:    o.Clock,
		client:   o.Client,
		secret:   []byte(o.Config.Notifications.Webhook.Secret.Reveal()),
		wake:     make(chan struct{}, 1),
	}
	if n.log == nil {
		n.log = zap.NewNop()
	}
	if n.clock == nil {
		n.clock = time.Now
	}
	for _, cp := range o.Config.Programs {
		rp, err := cp.Rules()
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		cats, err := cp.Catalogs()
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		n.programs[rp.ID] = program{Program: rp, catalogs: cats}
		n.ids = append(n.ids, rp.ID)
	}
	slices.Sort(n.ids)
	w := n.cfg.Webhook
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("notify: notifications.webhook.url %q is not an http:// or https:// address", w.URL)
		}
		n.target = w.URL
		n.shown = u.Scheme + "://" + u.Host + u.EscapedPath()
	}
	if n.cfg.Enabled() {
		switch {
		case n.target == "":
			return nil, errors.New("notify: notifications are on but notifications.webhook.url is empty; set the receiver's address")
		case len(n.secret) == 0:
			return nil, errors.New("notify: notifications are on but notifications.webhook.secret is empty; set secret or secret_file")
		case w.Poll <= 0 || w.Backoff <= 0 || w.MaxBackoff < w.Backoff:
			return nil, errors.New("notify: notifications.webhook poll and backoff must be greater than 0 and max_backoff at least backoff")
		}
	}
	if n.client == nil {
		n.client = &http.Client{
			Timeout: w.Timeout,
			// A redirected POST is resent elsewhere or turned into a GET:
			// neither is a delivery. The 3xx counts as a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return n, nil
}

// earnedData is the data of a points_earned event.
type earnedData struct {
	Points   int64  `json:"points"`
	Movement int64  `json:"movement"`
	Reason   string `json:"reason"`
	Source   string `json:"source"`
	Earned   int64  `json:"earned"` // the balance after the transaction
}

// prizeData is the data of a prize_threshold event.
type prizeData struct {
	Prize    string `json:"prize"`
	Name     string `json:"name"`
	Points   int64  `json:"points"` // what the prize costs
	Earned   int64  `json:"earned"`
	Movement int64  `json:"movement"` // the last rise of the transaction
}

// expiringData is the data of a points_expiring event.
type expiringData struct {
	Date   string `json:"date"` // the last day the points are usable, in the program's zone
	Points int64  `json:"points"`
	Earned int64  `json:"earned"`
}

// Hook is the function to give to ledger.SetNotifier: inside the
// transaction that raised earned points, it enqueues a points_earned event
// per rise ("earned:<movement>") and, when the account's earned balance
// crossed the cheapest prize open now, a prize_threshold event
// ("prize:<program>:<customer key>:<movement>"), each when enabled.
// Catalogs limited to card types are left out: the ledger does not know a
// customer's card type.
func (n *Notifier) Hook() func(*ledger.Tx, []ledger.Earned) error {
	earned, prize := n.cfg.Has(configs.EventPointsEarned), n.cfg.Has(configs.EventPrizeThreshold)
	return func(tx *ledger.Tx, rises []ledger.Earned) error {
		if !earned && !prize {
			return nil
		}
		type group struct {
			acct  ledger.Account
			sum   int64
			rises []ledger.Earned
		}
		var groups []*group
		byAcct := map[ledger.Account]*group{}
		for _, r := range rises {
			g := byAcct[r.Account]
			if g == nil {
				g = &group{acct: r.Account}
				byAcct[r.Account] = g
				groups = append(groups, g)
			}
			g.sum += r.Points
			g.rises = append(g.rises, r)
		}
		for _, g := range groups {
			bal, err := tx.Balance(g.acct, time.Time{})
			if err != nil {
				return err
			}
			if earned {
				for _, r := range g.rises {
					// Points given back (a released reservation, a
					// cancelled order's redemption) were not earned now;
					// they still count for the prize threshold below.
					if r.Kind != ledger.KindCredit && r.Kind != ledger.KindPost {
						continue
					}
					d := earnedData{Points: r.Points, Movement: r.Movement, Reason: r.Reason, Source: r.Source, Earned: bal.Earned}
					if err := n.enqueue(tx, fmt.Sprintf("earned:%d", r.Movement), configs.EventPointsEarned, g.acct, tx.Now(), d); err != nil {
						return err
					}
				}
			}
			p, ok := n.programs[g.acct.Program]
			if !prize || !ok || len(p.catalogs) == 0 {
				continue
			}
			pz, crossed := rules.ThresholdCrossed(p.catalogs, "", bal.Earned-g.sum, bal.Earned, tx.Now(), p.Location)
			if !crossed {
				continue
			}
			key, err := tx.CustomerKey(g.acct.Customer)
			if err != nil {
				return err
			}
			last := g.rises[len(g.rises)-1].Movement
			d := prizeData{Prize: pz.ID, Name: pz.Name, Points: pz.Points, Earned: bal.Earned, Movement: last}
			id := fmt.Sprintf("prize:%s:%s:%d", g.acct.Program, key, last)
			if err := n.enqueue(tx, id, configs.EventPrizeThreshold, g.acct, tx.Now(), d); err != nil {
				return err
			}
		}
		return nil
	}
}

func (n *Notifier) enqueue(tx *ledger.Tx, id, typ string, acct ledger.Account, at time.Time, data any) error {
	b, err := jsonData(data)
	if err != nil {
		return err
	}
	if err := tx.Enqueue(ledger.Event{ID: id, Type: typ, Program: acct.Program, Customer: acct.Customer, At: at, Data: b}); err != nil {
		return err
	}
	n.pending.Store(true)
	return nil
}

func jsonData(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("notify: encode event data: %w", err)
	}
	return b, nil
}

// Committed is the function to give to ledger.OnCommit so that events
// the hook enqueued are delivered at once rather than at the next poll.
// Without it delivery still happens within notifications.webhook.poll.
func (n *Notifier) Committed(map[ledger.Written]int) {
	if n.pending.Swap(false) {
		n.kick()
	}
}

// kick starts a delivery round now.
func (n *Notifier) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}
