// Package ntsdb is a test fixture: the tables of an NTS Business style ERP
// on SQL Server that pointsync's example configuration reads (customers in
// anagra, orders in testord/movord, delivery notes, invoices and credit
// notes in testmag/movmag with movmag's link to the order lines), and
// helpers that write them as the ERP would. The statements are plain
// T-SQL: they run on a real SQL Server and on the loopback TDS server of
// internal/tdstest.
package ntsdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/golang-sql/civil"
)

// Company is the codditt every row is written with.
const Company = "DEMO"

// Schema creates the tables.
var Schema = []string{
	`CREATE TABLE anagra (
		codditt NVARCHAR(12) NOT NULL,
		an_conto INT NOT NULL,
		an_descr1 NVARCHAR(80) NOT NULL,
		an_email NVARCHAR(100) NULL,
		ts ROWVERSION,
		PRIMARY KEY (codditt, an_conto))`,
	`CREATE TABLE testord (
		codditt NVARCHAR(12) NOT NULL,
		td_tipork NCHAR(1) NOT NULL,
		td_anno SMALLINT NOT NULL,
		td_serie NVARCHAR(3) NOT NULL,
		td_numord INT NOT NULL,
		td_conto INT NOT NULL,
		td_datord DATETIME2 NOT NULL,
		td_riferim NVARCHAR(50) NULL,
		td_annullato NCHAR(1) NOT NULL,
		td_datannul DATETIME2 NULL,
		ts ROWVERSION,
		PRIMARY KEY (codditt, td_tipork, td_anno, td_serie, td_numord))`,
	`CREATE TABLE movord (
		codditt NVARCHAR(12) NOT NULL,
		mo_tipork NCHAR(1) NOT NULL,
		mo_anno SMALLINT NOT NULL,
		mo_serie NVARCHAR(3) NOT NULL,
		mo_numord INT NOT NULL,
		mo_riga INT NOT NULL,
		mo_codart NVARCHAR(50) NOT NULL,
		mo_quant DECIMAL(18,3) NOT NULL,
		mo_valore MONEY NOT NULL,
		ts ROWVERSION,
		PRIMARY KEY (codditt, mo_tipork, mo_anno, mo_serie, mo_numord, mo_riga))`,
	`CREATE TABLE testmag (
		codditt NVARCHAR(12) NOT NULL,
		tm_tipork NCHAR(1) NOT NULL,
		tm_anno SMALLINT NOT NULL,
		tm_serie NVARCHAR(3) NOT NULL,
		tm_numdoc INT NOT NULL,
		tm_conto INT NOT NULL,
		tm_datdoc DATETIME2 NOT NULL,
		tm_speseacc MONEY NOT NULL,
		tm_scontopiede MONEY NOT NULL,
		tm_totdoc MONEY NOT NULL,
		ts ROWVERSION,
		PRIMARY KEY (codditt, tm_tipork, tm_anno, tm_serie, tm_numdoc))`,
	`CREATE TABLE movmag (
		codditt NVARCHAR(12) NOT NULL,
		mm_tipork NCHAR(1) NOT NULL,
		mm_anno SMALLINT NOT NULL,
		mm_serie NVARCHAR(3) NOT NULL,
		mm_numdoc INT NOT NULL,
		mm_riga INT NOT NULL,
		mm_codart NVARCHAR(50) NOT NULL,
		mm_quant DECIMAL(18,3) NOT NULL,
		mm_lordo MONEY NOT NULL,
		mm_sconto MONEY NOT NULL,
		mm_valore MONEY NOT NULL,
		mm_ortipo NCHAR(1) NULL,
		mm_oranno SMALLINT NULL,
		mm_orserie NVARCHAR(3) NULL,
		mm_ornum INT NULL,
		mm_orriga INT NULL,
		ts ROWVERSION,
		PRIMARY KEY (codditt, mm_tipork, mm_anno, mm_serie, mm_numdoc, mm_riga))`,
}

// Create makes the tables in db (a go-mssqldb connection).
func Create(ctx context.Context, db *sql.DB) error {
	for _, s := range Schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("ntsdb: %w\n%s", err, s)
		}
	}
	return nil
}

// Customer is a row of anagra.
type Customer struct {
	Account int
	Name    string
	Email   string
}

// AddCustomer writes a customer.
func AddCustomer(ctx context.Context, db *sql.DB, c Customer) error {
	_, err := db.ExecContext(ctx, `INSERT INTO anagra (codditt, an_conto, an_descr1, an_email) VALUES (@p1, @p2, @p3, @p4)`,
		Company, c.Account, c.Name, nullString(c.Email))
	return err
}

// Line is a line of an order or a document. Gross, Discount and Net are
// amounts written as the ERP's MONEY ("120.00"); Net is Gross less
// Discount when empty. For a document line Order names the order line it
// converts.
type Line struct {
	Row      int
	Product  string
	Quantity string
	Gross    string
	Discount string
	Net      string
	Order    *OrderKey
	OrderRow int
}

// OrderKey identifies an ERP order.
type OrderKey struct {
	Year   int
	Series string
	Number int
}

// Order is a customer order (td_tipork R) imported from the web shop:
// Web is the shop's order id, kept in td_riferim.
type Order struct {
	Key     OrderKey
	Account int
	Date    time.Time
	Web     string
	Lines   []Line
}

// AddOrder writes an order with its lines in one transaction.
func AddOrder(ctx context.Context, db *sql.DB, o Order) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO testord (codditt, td_tipork, td_anno, td_serie, td_numord, td_conto, td_datord, td_riferim, td_annullato)
			VALUES (@p1, 'R', @p2, @p3, @p4, @p5, @p6, @p7, 'N')`,
			Company, o.Key.Year, o.Key.Series, o.Key.Number, o.Account, wall(o.Date), o.Web); err != nil {
			return err
		}
		for _, l := range o.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO movord (codditt, mo_tipork, mo_anno, mo_serie, mo_numord, mo_riga, mo_codart, mo_quant, mo_valore)
				VALUES (@p1, 'R', @p2, @p3, @p4, @p5, @p6, @p7, @p8)`,
				Company, o.Key.Year, o.Key.Series, o.Key.Number, l.Row, l.Product, l.Quantity, l.Net); err != nil {
				return err
			}
		}
		return nil
	})
}

// CancelOrder marks an order cancelled (td_annullato S) at the time given.
func CancelOrder(ctx context.Context, db *sql.DB, k OrderKey, at time.Time) error {
	res, err := db.ExecContext(ctx, `UPDATE testord SET td_annullato = 'S', td_datannul = @p1
		WHERE codditt = @p2 AND td_tipork = 'R' AND td_anno = @p3 AND td_serie = @p4 AND td_numord = @p5`,
		wall(at), Company, k.Year, k.Series, k.Number)
	if err != nil {
		return err
	}
	return oneRow(res, "order", k)
}

// Document is a delivery note (B), an invoice (A, or D from delivery
// notes) or a credit note (N).
type Document struct {
	Type     string
	Year     int
	Series   string
	Number   int
	Account  int
	Date     time.Time
	Shipping string
	Discount string
	Lines    []Line
}

// AddDocument writes a document with its lines in one transaction.
func AddDocument(ctx context.Context, db *sql.DB, d Document) error {
	if d.Shipping == "" {
		d.Shipping = "0"
	}
	if d.Discount == "" {
		d.Discount = "0"
	}
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO testmag (codditt, tm_tipork, tm_anno, tm_serie, tm_numdoc, tm_conto, tm_datdoc, tm_speseacc, tm_scontopiede, tm_totdoc)
			VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, 0)`,
			Company, d.Type, d.Year, d.Series, d.Number, d.Account, wall(d.Date), d.Shipping, d.Discount); err != nil {
			return err
		}
		for _, l := range d.Lines {
			if l.Discount == "" {
				l.Discount = "0"
			}
			if l.Net == "" {
				l.Net = l.Gross
				if l.Discount != "0" {
					return fmt.Errorf("ntsdb: line %d: give Net with a Discount", l.Row)
				}
			}
			var ot, os any
			var oy, on, or any
			if l.Order != nil {
				ot, oy, os, on, or = "R", l.Order.Year, l.Order.Series, l.Order.Number, l.OrderRow
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO movmag (codditt, mm_tipork, mm_anno, mm_serie, mm_numdoc, mm_riga, mm_codart, mm_quant, mm_lordo, mm_sconto, mm_valore,
					mm_ortipo, mm_oranno, mm_orserie, mm_ornum, mm_orriga)
				VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15, @p16)`,
				Company, d.Type, d.Year, d.Series, d.Number, l.Row, l.Product, l.Quantity, l.Gross, l.Discount, l.Net, ot, oy, os, on, or); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE testmag SET tm_totdoc = (SELECT SUM(mm_valore) FROM movmag
				WHERE movmag.codditt = testmag.codditt AND mm_tipork = tm_tipork AND mm_anno = tm_anno AND mm_serie = tm_serie AND mm_numdoc = tm_numdoc)
			WHERE codditt = @p1 AND tm_tipork = @p2 AND tm_anno = @p3 AND tm_serie = @p4 AND tm_numdoc = @p5`,
			Company, d.Type, d.Year, d.Series, d.Number)
		return err
	})
}

// TouchDocument saves a document again unchanged, as the ERP does when a
// user opens and saves it: its rowversion grows, so pointsync reads it
// again.
func TouchDocument(ctx context.Context, db *sql.DB, typ string, year int, series string, number int) error {
	res, err := db.ExecContext(ctx, `UPDATE testmag SET tm_totdoc = tm_totdoc
		WHERE codditt = @p1 AND tm_tipork = @p2 AND tm_anno = @p3 AND tm_serie = @p4 AND tm_numdoc = @p5`,
		Company, typ, year, series, number)
	if err != nil {
		return err
	}
	return oneRow(res, "document", fmt.Sprintf("%s/%d/%s/%d", typ, year, series, number))
}

// wall is a time as the ERP stores it: the wall clock of its zone, in a
// DATETIME2 column.
func wall(t time.Time) civil.DateTime { return civil.DateTimeOf(t) }

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func oneRow(res sql.Result, what string, key any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("ntsdb: %s %v: %d rows changed, want 1", what, key, n)
	}
	return nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
