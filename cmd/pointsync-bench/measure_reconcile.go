package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// reconcileTarget is issue 8's target: events (order snapshots and ERP
// documents) per second.
const reconcileTarget = 50_000

var (
	orderColumns = []string{"order", "customer", "placed_at", "status", "status_at", "points_spent", "product", "quantity", "gross"}
	erpColumns   = []string{"tipo", "anno", "serie", "numero", "ordine", "data", "riga", "articolo", "qta", "importo", "sostituisce"}
)

// reconcile is measure 2: web orders and ERP documents through drop
// folders, the mapping and the reconcile engine, as the daemon feeds them,
// over -rounds syncs.
func (b *bench) reconcile(ctx context.Context, backend string) error {
	if b.stage == "" {
		b.stage = filepath.Join(b.work, "orders-stage")
		start := time.Now()
		st, err := writeOrderRounds(b.stage, b.o.orders, b.o.rounds, b.o.seed)
		if err != nil {
			return err
		}
		b.ordersSt = st
		fmt.Fprintf(b.log, "   generated %s orders (%s events, %s rows) over %d rounds in %s\n", thousands(int64(st.Orders)),
			thousands(int64(st.Events())), thousands(int64(st.Rows)), st.Rounds, time.Since(start).Round(100*time.Millisecond))
	}
	st := b.ordersSt
	s, err := b.store(ctx, "reconcile", backend)
	if err != nil {
		return err
	}
	config, err := ordersConfig(s)
	if err != nil {
		return err
	}
	stage := filepath.Join(s.dir, "stage")
	if err := linkTree(b.stage, stage); err != nil {
		return err
	}
	args := append([]string{"sync", "-config", config, "-stage", stage}, b.profileArgs("reconcile-"+backend)...)
	run, err := runChild(ctx, filepath.Join(s.dir, "child.log"), args...)
	if err != nil {
		return err
	}
	var rounds []roundResult
	if err := json.Unmarshal(run.stdout, &rounds); err != nil || len(rounds) != st.Rounds+1 {
		return fmt.Errorf("sync child: %v: %s", err, run.stdout)
	}
	var seconds float64
	var applied, rejected int64
	for i, r := range rounds {
		if len(r.Errors) > 0 {
			return fmt.Errorf("sync child, round %s: %s", r.Round, strings.Join(r.Errors, "; "))
		}
		if i == 0 {
			continue // the customers' links: setup
		}
		seconds += r.Seconds
		applied += r.Applied
		rejected += r.Rejected
	}
	if applied+rejected != int64(st.Events()) {
		return fmt.Errorf("the syncs applied %d facts and rejected %d; the workload has %d events", applied, rejected, st.Events())
	}
	evRate := float64(st.Events()) / seconds
	r := result{measure: "reconciliation", backend: backend, figure: rate(evRate, "events"), peakRSS: run.maxRSS,
		target: ">= " + thousands(reconcileTarget) + " events/s", met: yes(evRate >= reconcileTarget)}

	files, err := stageFiles(b.stage)
	if err != nil {
		return err
	}
	var tables []importTable
	for _, f := range files {
		t := importTable{file: f}
		switch filepath.Base(filepath.Dir(f)) {
		case connOrders:
			t.table, t.sep, t.cols, t.unique = "orders", ",", orderColumns, []string{"order", "status", "product"}
		case connERP:
			t.table, t.sep, t.cols, t.unique = "erp", ";", erpColumns, erpColumns[:4:4]
			t.unique = append(t.unique, "riga")
		default:
			continue
		}
		if t.rows, err = fileRows(f); err != nil {
			return err
		}
		tables = append(tables, t)
	}
	lim, err := b.importLimit(ctx, s, tables)
	switch {
	case errors.Is(err, errNoSQLite3):
		r.limit = "sqlite3 not installed"
	case err != nil:
		return err
	default:
		limRate := float64(st.Events()) / lim.took.Seconds()
		r.limit = rate(limRate, "events") + " (" + lim.tool + " of the files)"
		r.ratio = evRate / limRate
		b.note("reconciliation limit on %s: %s of the %d order and document files in %s%s", backend, lim.tool, len(tables), lim.took.Round(10*time.Millisecond), rssNote(lim.maxRSS))
	}
	b.add(r)
	size, err := s.size(ctx)
	if err != nil {
		return err
	}
	b.note("reconciliation on %s: %s orders, %s events (%s order snapshots, %s ERP documents: %s invoices, %s delivery notes, %s partial conversions, %s cancellations, %s credit notes, %s before their order; %s orders paying with points), %s rows, over %d syncs in %s; %s applied, %s refused; %s customers linked first (not timed); ledger %s",
		backend, thousands(int64(st.Orders)), thousands(int64(st.Events())), thousands(int64(st.Snapshots)), thousands(int64(st.Documents)),
		thousands(int64(st.Invoices)), thousands(int64(st.DeliveryNotes)), thousands(int64(st.Partial)), thousands(int64(st.Cancellations)),
		thousands(int64(st.CreditNotes)), thousands(int64(st.Early)), thousands(int64(st.Spends)), thousands(int64(st.Rows)), st.Rounds,
		(time.Duration(seconds * float64(time.Second))).Round(10*time.Millisecond), thousands(applied), thousands(rejected),
		thousands(int64(st.Customers)), mib(size))
	return nil
}
