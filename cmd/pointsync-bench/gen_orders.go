package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The reconciliation workload is staged as rounds: dir/r000 holds the
// customers' links (applied before the clock starts), and each of
// dir/r001 ... dir/rNNN holds what the shop and the ERP dropped between
// two syncs, one folder per connector (customers, orders, erp), as the
// sync child moves them into the connectors' inboxes round by round.
const (
	connCustomers = "customers"
	connOrders    = "orders"
	connERP       = "erp"
	connStores    = "stores"
)

// Headers of the shop's order files (WooCommerce export: commas, decimal
// point, ISO times) and of the ERP's documents (semicolons, decimal comma,
// day-first dates, Italian column names).
const (
	orderHeader = "order,customer,placed_at,status,status_at,points_spent,product,quantity,gross\n"
	erpHeader   = "tipo;anno;serie;numero;ordine;data;riga;articolo;qta;importo;sostituisce\n"
)

// orderStats says what a generated order workload holds.
type orderStats struct {
	Customers     int
	Orders        int
	Snapshots     int // order facts: each order once, some again with a later status
	Documents     int // ERP documents of every kind
	Invoices      int // invoices of a whole order, of a part of it, or made from a delivery note
	DeliveryNotes int
	Partial       int // orders the ERP converted only in part
	Cancellations int
	CreditNotes   int
	Early         int // documents that arrive one round before their order
	Spends        int // orders that pay with points
	Rows          int // data rows of the order and document files
	Rounds        int
}

// Events are the facts the reconciliation applies and is timed on: order
// snapshots and ERP documents (the customers' links are set up first).
func (s orderStats) Events() int { return s.Snapshots + s.Documents }

type orderLine struct {
	product string
	qty     int
	gross   int64 // cents
}

// orderGen writes the round files.
type orderGen struct {
	dir    string
	rounds int
	rng    *rand.Rand
	files  map[string]*roundFile
	docNo  map[string]int
	st     orderStats
}

type roundFile struct {
	f *os.File
	w *bufio.Writer
}

// writeOrderRounds stages a workload of orders web orders over rounds
// rounds, the same for the same seed: a quarter as many customers as
// orders; orders of one to five lines, paid (70%), on hold (20%) or just
// placed, one in ten seen again with a later status, two in a hundred
// paying 100 points; and the ERP's documents: an invoice of the whole
// order (55%), a delivery note then the invoice made from it in the next
// round (10%), an invoice of part of the order (10%), a cancellation (8%),
// nothing yet (17%); one invoiced order in twenty gets a credit note of
// one line, and three invoices in a hundred arrive a round before their
// order.
func writeOrderRounds(dir string, orders, rounds int, seed uint64) (orderStats, error) {
	rounds = max(1, min(rounds, orders))
	g := &orderGen{dir: dir, rounds: rounds, rng: rand.New(rand.NewPCG(seed, 0x0e4d)), files: map[string]*roundFile{}, docNo: map[string]int{}}
	g.st.Customers = max(orders/4, 10)
	g.st.Rounds = rounds
	err := g.generate(orders)
	if cerr := g.close(); err == nil {
		err = cerr
	}
	return g.st, err
}

func (g *orderGen) generate(orders int) error {
	w, err := g.file(0, connCustomers, "customers.csv", "web;email\n")
	if err != nil {
		return err
	}
	for c := 1; c <= g.st.Customers; c++ {
		fmt.Fprintf(w, "%d;c%d@example.com\n", c, c)
	}
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rng := g.rng
	for i := range orders {
		round := 1 + i*g.rounds/orders
		id := fmt.Sprintf("W%07d", i+1)
		placed := base.Add(time.Duration(i) * 30 * time.Second)
		lines := make([]orderLine, 1+rng.IntN(5))
		for k := range lines {
			qty := 1 + rng.IntN(3)
			lines[k] = orderLine{product: g.product(lines[:k]), qty: qty, gross: int64(qty) * (300 + rng.Int64N(7701))}
		}
		customer := 1 + rng.IntN(g.st.Customers)
		status := "wc-processing"
		switch r := rng.IntN(100); {
		case r >= 90:
			status = "wc-pending"
		case r >= 70:
			status = "wc-on-hold"
		}
		spent := 0
		if rng.IntN(100) < 2 {
			spent = 100
			g.st.Spends++
		}
		g.st.Orders++
		if err := g.order(round, id, customer, placed, status, placed, spent, lines); err != nil {
			return err
		}
		if rng.IntN(10) == 0 && round < g.rounds {
			if err := g.order(round+1, id, customer, placed, "wc-completed", placed.Add(26*time.Hour), spent, lines); err != nil {
				return err
			}
		}
		if err := g.documents(round, id, placed, lines); err != nil {
			return err
		}
	}
	return nil
}

// product draws a product code that none of the order's lines so far
// has: a product is one line of an order.
func (g *orderGen) product(lines []orderLine) string {
	for {
		p := fmt.Sprintf("P%04d", 1+g.rng.IntN(2000))
		if !slices.ContainsFunc(lines, func(l orderLine) bool { return l.product == p }) {
			return p
		}
	}
}

// documents writes what the ERP makes of order id.
func (g *orderGen) documents(round int, id string, placed time.Time, lines []orderLine) error {
	rng := g.rng
	next := min(round+1, g.rounds)
	day := placed.Add(24 * time.Hour)
	invoiced := false
	var invoiceRound int
	switch r := rng.IntN(100); {
	case r < 55:
		at := round
		if round >= 2 && rng.IntN(100) < 3 {
			at = round - 1 // the invoice is read before the order reaches pointsync (SPEC E7)
			g.st.Early++
		}
		if _, err := g.document(at, "F", id, day, lines, ""); err != nil {
			return err
		}
		invoiced, invoiceRound = true, at
	case r < 65:
		ddt, err := g.document(round, "B", id, day, lines, "")
		if err != nil {
			return err
		}
		g.st.DeliveryNotes++
		if _, err := g.document(next, "F", id, day.Add(48*time.Hour), lines, ddt); err != nil {
			return err
		}
		invoiced, invoiceRound = true, next
	case r < 75:
		part := append([]orderLine(nil), lines[:(len(lines)+1)/2]...)
		if len(lines) == 1 {
			// One line converted for one unit less, or half of it.
			part[0].qty = max(1, part[0].qty-1)
			part[0].gross = lines[0].gross * int64(part[0].qty) / int64(lines[0].qty)
			if part[0].qty == lines[0].qty {
				part[0].gross /= 2
			}
		}
		if _, err := g.document(round, "F", id, day, part, ""); err != nil {
			return err
		}
		g.st.Partial++
		invoiced, invoiceRound = true, round
	case r < 83:
		if _, err := g.document(round, "X", id, day, []orderLine{{}}, ""); err != nil {
			return err
		}
		g.st.Cancellations++
	}
	if invoiced && rng.IntN(20) == 0 {
		if _, err := g.document(max(invoiceRound, next), "N", id, day.Add(10*24*time.Hour), lines[:1], ""); err != nil {
			return err
		}
		g.st.CreditNotes++
	}
	return nil
}

// order writes one snapshot of an order: one row per line.
func (g *orderGen) order(round int, id string, customer int, placed time.Time, status string, statusAt time.Time, spent int, lines []orderLine) error {
	w, err := g.file(round, connOrders, "orders.csv", orderHeader)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%s,%d,%s,%s,%s,%d,%s,%d,%d.%02d\n", id, customer, placed.Format(time.DateTime), status,
			statusAt.Format(time.DateTime), spent, l.product, l.qty, l.gross/100, l.gross%100)
		g.st.Rows++
	}
	g.st.Snapshots++
	return nil
}

// document writes one ERP document of kind (F invoice, B delivery note,
// X cancellation, N credit note) and returns its key.
func (g *orderGen) document(round int, kind, order string, at time.Time, lines []orderLine, supersedes string) (string, error) {
	w, err := g.file(round, connERP, "erp.csv", erpHeader)
	if err != nil {
		return "", err
	}
	g.docNo[kind]++
	n := g.docNo[kind]
	for k, l := range lines {
		qty, product := "", l.product
		if l.qty > 0 {
			qty = fmt.Sprint(l.qty)
		}
		fmt.Fprintf(w, "%s;2026;A;%d;%s;%s;%d;%s;%s;%s;%s\n", kind, n, order, at.Format("02/01/2006 15:04"), k+1, product, qty, cents(l.gross), supersedes)
		g.st.Rows++
	}
	g.st.Documents++
	if kind == "F" {
		g.st.Invoices++
	}
	return fmt.Sprintf("%s/2026/A/%d", kind, n), nil
}

// file is the open file of a connector in a round, created with its
// header at first use.
func (g *orderGen) file(round int, conn, name, header string) (io.Writer, error) {
	key := fmt.Sprintf("%d/%s", round, conn)
	if rf, ok := g.files[key]; ok {
		return rf.w, nil
	}
	dir := filepath.Join(g.dir, roundDir(round), conn)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	rf := &roundFile{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	g.files[key] = rf
	_, err = rf.w.WriteString(header)
	return rf.w, err
}

func (g *orderGen) close() error {
	var first error
	for _, rf := range g.files {
		if err := rf.w.Flush(); err != nil && first == nil {
			first = err
		}
		if err := rf.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// roundDir names a round's folder in a stage: r000, r001, ...
func roundDir(round int) string { return fmt.Sprintf("r%03d", round) }
