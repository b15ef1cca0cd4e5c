package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/connectors/csvdrop"
	"github.com/pointsync/pointsync/connectors/httpjson"
	"github.com/pointsync/pointsync/connectors/sqlsource"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/reconcile"
	"github.com/pointsync/pointsync/rules"
)

// Engine builds the reconciliation engine from the configured programs
// and their rules.
func Engine(cfg *configs.Config) (*reconcile.Engine, error) {
	var ps []reconcile.Program
	for _, cp := range cfg.Programs {
		rp, err := cp.Rules()
		if err != nil {
			return nil, err
		}
		p := reconcile.Program{Program: rp, ConfirmOn: reconcile.ConfirmOn(cp.ConfirmOn),
			CreateCardCustomers: cp.CreateCardCustomers, ExcludeCurrentTransaction: cp.ExcludeCurrentTransaction,
			Actions: cp.ActionRules()}
		if p.Accrual, err = cp.AccrualRules(); err != nil {
			return nil, err
		}
		if r, ok, err := cp.RedemptionRules(); err != nil {
			return nil, err
		} else if ok {
			p.Redemption = r
		}
		if p.Catalogs, err = cp.Catalogs(); err != nil {
			return nil, err
		}
		if p.Gifts, err = cp.Gifts(); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	eng, err := reconcile.New(ps)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File(), err)
	}
	return eng, nil
}

// builder turns configuration sections into jobs.
type builder struct {
	cfg    *configs.Config
	ledger *ledger.Ledger
	engine *reconcile.Engine
	log    *zap.Logger
	clock  func() time.Time
}

func (b builder) program(id string) (rules.Program, error) {
	p, ok := b.cfg.Program(id)
	if !ok {
		return rules.Program{}, fmt.Errorf("unknown program %q", id)
	}
	return p, nil
}

// spec is how the connector's records become facts.
func (b builder) spec(cc configs.Connector, dec csvio.Decimal) (mapping.Spec, error) {
	p, err := b.program(cc.Program)
	if err != nil {
		return mapping.Spec{}, err
	}
	s := mapping.Spec{Type: mapping.Type(cc.Facts), Program: p.ID, Amount: p.Unit == rules.UnitAmount, Decimal: dec,
		DateFormats: cc.DateFormats, Location: p.Location, IdentKind: cc.IdentKind}
	if cc.Timezone != "" {
		if s.Location, err = time.LoadLocation(cc.Timezone); err != nil {
			return mapping.Spec{}, fmt.Errorf("timezone: %w", err)
		}
	}
	if len(cc.Statuses) > 0 {
		s.Statuses = map[string]mapping.Status{}
		for k, v := range cc.Statuses {
			s.Statuses[k] = mapping.Status(v)
		}
	}
	if len(cc.DocumentKinds) > 0 {
		s.DocKinds = map[string]mapping.DocKind{}
		for k, v := range cc.DocumentKinds {
			s.DocKinds[k] = mapping.DocKind(v)
		}
	}
	return s, nil
}

func (b builder) connector(cc configs.Connector) (*job, connectors.Closer, error) {
	log := b.log.With(zap.String("job", cc.Name))
	var src connectors.Source
	switch cc.Kind {
	case configs.ConnectorCSVDrop:
		d, err := cc.CSV.Dialect()
		if err != nil {
			return nil, nil, err
		}
		d.DateFormats = cc.DateFormats
		spec, err := b.spec(cc, d.Decimal)
		if err != nil {
			return nil, nil, err
		}
		name := cc.Name
		s, err := csvdrop.New(csvdrop.Options{
			Name: cc.Name, Dir: cc.Drop.Dir, Pattern: cc.Drop.Pattern, MinAge: cc.Drop.MinAge, Marker: cc.Drop.Marker,
			Dialect: d, Headers: cc.Columns, Mapping: spec, RejectFile: cc.Drop.OnBadRow == configs.BadRowRejectFile,
			Seen: func(ctx context.Context, key string) (bool, error) {
				_, ok, err := b.ledger.Unit(ctx, name, key)
				return ok, err
			},
			Clock: b.clock, Logger: log,
		})
		if err != nil {
			return nil, nil, err
		}
		src = s
	case configs.ConnectorHTTPPull:
		o := httpjson.PullOptions{Name: cc.Name, URL: cc.HTTP.URL, CursorParam: cc.HTTP.CursorParam, LimitParam: cc.HTTP.LimitParam,
			ItemsField: cc.HTTP.ItemsField, NextField: cc.HTTP.NextField, Format: cc.HTTP.Format, Program: cc.Program,
			Fields: cc.Columns, Headers: revealAll(cc.HTTP.Headers), BearerToken: cc.HTTP.BearerToken.Reveal(),
			Timeout: cc.HTTP.Timeout, Retries: httpRetries(cc.HTTP.Retries), Backoff: cc.HTTP.Backoff, Logger: log}
		if cc.HTTP.Format == configs.FormatRecords {
			spec, err := b.spec(cc, csvio.DecimalPoint)
			if err != nil {
				return nil, nil, err
			}
			o.Mapping = spec
		}
		s, err := httpjson.NewSource(o)
		if err != nil {
			return nil, nil, err
		}
		src = s
	case configs.ConnectorSQL:
		spec, err := b.spec(cc, csvio.DecimalPoint)
		if err != nil {
			return nil, nil, err
		}
		o := sqlsource.Options{Name: cc.Name, Driver: cc.SQL.Driver, DSN: cc.SQL.DSN.Reveal(), Query: cc.SQL.Query,
			Columns: cc.Columns, Mapping: spec, Timeout: cc.SQL.Timeout, Logger: log}
		for _, c := range cc.SQL.Cursor {
			o.Cursor = append(o.Cursor, sqlsource.CursorColumn{Column: c.Column, Type: c.Type, Start: c.Start})
		}
		s, err := sqlsource.New(o)
		if err != nil {
			return nil, nil, err
		}
		src = s
	default:
		return nil, nil, fmt.Errorf("unknown kind %q", cc.Kind)
	}
	sj := &sourceJob{name: cc.Name, src: src, ledger: b.ledger, engine: b.engine, batch: b.cfg.Daemon.BatchSize, log: b.log} // its logs name the job themselves
	j := &job{name: cc.Name, kind: "connector", schedule: cc.Schedule, run: sj.run}
	if lg, ok := src.(connectors.Lagger); ok {
		j.lag = lg.Lag
	}
	if p, ok := src.(connectors.Prober); ok {
		j.probe = p.Probe
	}
	closer, _ := src.(connectors.Closer)
	return j, closer, nil
}

func (b builder) export(ec configs.ExportJob) (_ *job, closer connectors.Closer, _ error) {
	p, err := b.program(ec.Program)
	if err != nil {
		return nil, nil, err
	}
	j := &job{name: ec.Name, kind: "export", schedule: ec.Schedule}
	switch ec.Kind {
	case configs.ExportTillFiles:
		d, err := ec.CSV.Dialect()
		if err != nil {
			return nil, nil, err
		}
		t := &tillFiles{ledger: b.ledger, program: p, path: ec.Path, stores: ec.Stores, dialect: d, guard: leaseGuard(b.ledger)}
		j.run = t.run
		j.probe = t.probe
	case configs.ExportHTTPPush:
		s, err := httpjson.NewSink(httpjson.PushOptions{Name: ec.Name, URL: ec.HTTP.URL, Method: ec.HTTP.Method,
			Headers: revealAll(ec.HTTP.Headers), BearerToken: ec.HTTP.BearerToken.Reveal(), BatchSize: ec.HTTP.BatchSize,
			Timeout: ec.HTTP.Timeout, Backoff: ec.HTTP.Backoff, Retries: httpRetries(ec.HTTP.Retries), HMACSecret: ec.HTTP.HMACSecret.Reveal(),
			Logger: b.log.With(zap.String("job", ec.Name))})
		if err != nil {
			return nil, nil, err
		}
		ps := &pusher{name: ec.Name, ledger: b.ledger, program: p.ID, movements: ec.What == configs.PushMovements, sink: s,
			batch: ec.HTTP.BatchSize, log: b.log, guard: leaseGuard(b.ledger)}
		j.run = ps.run
	case configs.ExportSQLTable:
		t, err := sqlsource.NewTable(sqlsource.TableOptions{Name: ec.Name, DSN: ec.SQL.DSN.Reveal(), Table: ec.SQL.Table,
			Identifier: ec.SQL.Identifier, Columns: ec.SQL.Columns, Amount: p.Unit == rules.UnitAmount, BatchSize: ec.SQL.BatchSize,
			Timeout: ec.SQL.Timeout, Logger: b.log.With(zap.String("job", ec.Name)), Guard: leaseGuard(b.ledger)})
		if err != nil {
			return nil, nil, err
		}
		ps := &pusher{name: ec.Name, ledger: b.ledger, program: p.ID, sink: t, batch: ec.SQL.BatchSize, log: b.log, guard: leaseGuard(b.ledger)}
		j.run = ps.run
		j.probe = t.Probe
		closer = t
	default:
		return nil, nil, fmt.Errorf("unknown kind %q", ec.Kind)
	}
	return j, closer, nil
}

// housekeeping writes the expiry of points that reached it (balances are
// right without it; the movements make expiry visible to exports and
// reports) and awards the periodic gifts that fell due.
func (b builder) housekeeping() *job {
	run := func(stop, abort context.Context) (outcome, error) {
		var out outcome
		n, err := b.ledger.Sweep(abort)
		out.Rows += int64(n)
		if err != nil {
			return out, fmt.Errorf("expiry sweep: %w", err)
		}
		var failed []string
		for _, p := range b.cfg.Programs {
			var awarded int
			err := b.ledger.Update(abort, rollbackOnPanic(b.log, configs.HousekeepingJob, func(tx *ledger.Tx) error {
				var err error
				awarded, err = b.engine.Gifts(tx, p.ID)
				return err
			}))
			if err != nil {
				failed = append(failed, fmt.Sprintf("gifts of program %s: %v", p.ID, err))
				continue
			}
			out.Rows += int64(awarded)
		}
		out.Changed = out.Rows > 0
		if len(failed) > 0 {
			return out, fmt.Errorf("%s", strings.Join(failed, "; "))
		}
		return out, nil
	}
	return &job{name: configs.HousekeepingJob, kind: "housekeeping", schedule: b.cfg.Daemon.Housekeeping, run: run}
}

func revealAll(h map[string]configs.Secret) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v.Reveal()
	}
	return out
}

// httpRetries passes "retries: 0" on as no retries: httpjson reads 0 as
// its default.
func httpRetries(n int) int {
	if n == 0 {
		return httpjson.NoRetries
	}
	return n
}
