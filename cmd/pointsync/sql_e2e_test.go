package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/microsoft/go-mssqldb"

	"github.com/pointsync/pointsync/internal/ntsdb"
	"github.com/pointsync/pointsync/internal/tdstest"
	"github.com/pointsync/pointsync/internal/wcdb"
)

// sqlSite is the example configuration configs/nts-woocommerce.yaml run
// by the real binary: the ERP on the loopback TDS server (or the SQL
// Server of POINTSYNC_TEST_SQLSERVER_DSN), the shop on MariaDB, the stores
// in a drop folder.
type sqlSite struct {
	*site
	erp  *sql.DB
	shop *sql.DB
}

func newSQLSite(t *testing.T, edit func(config string) string) *sqlSite {
	t.Helper()
	shopDSN, shop := wcdb.Open(t)
	erpDSN := tdstest.Open(t)
	erp, err := sql.Open("sqlserver", erpDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { erp.Close() })
	if err := ntsdb.Create(context.Background(), erp); err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, dir: t.TempDir(), bin: pointsyncBinary(t)}
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "nts-woocommerce.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := string(data)
	if edit != nil {
		config = edit(config)
	}
	s.config = filepath.Join(s.dir, "pointsync.yaml")
	if err := os.WriteFile(s.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// The example reads its addresses and folders from the environment.
	t.Setenv("POINTSYNC_DATA", s.dir)
	t.Setenv("POINTSYNC_ERP_DSN", erpDSN)
	t.Setenv("POINTSYNC_SHOP_DSN", shopDSN)
	return &sqlSite{site: s, erp: erp, shop: shop}
}

var rome = func() *time.Location {
	l, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, rome)
	if err != nil {
		panic(err)
	}
	return t
}

// shopRow is a row of the shop's balance table.
type shopRow struct {
	Earned, Provisional, Spent, Expired int64
}

func (s *sqlSite) shopBalance(customer, program string) (shopRow, bool) {
	s.t.Helper()
	var r shopRow
	err := s.shop.QueryRow(`SELECT earned, provisional, spent, expired FROM wp_pointsync_balances WHERE customer_id = ? AND program = ?`,
		customer, program).Scan(&r.Earned, &r.Provisional, &r.Spent, &r.Expired)
	if err == sql.ErrNoRows {
		return r, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return r, true
}

func (s *sqlSite) wantShop(customer string, earned, provisional, spent int64) {
	s.t.Helper()
	r, ok := s.shopBalance(customer, "shop")
	want := shopRow{Earned: earned, Provisional: provisional, Spent: spent}
	if !ok || r != want {
		s.t.Fatalf("shop table row of %s = %+v (found %v); want %+v", customer, r, ok, want)
	}
}

func (s *sqlSite) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// TestSQLSiteE6E7E8 feeds SPEC E6, E7 and E8 through the ERP's tables
// (NTS Business style, over TDS), the shop's tables (WooCommerce HPOS, on
// MariaDB) and a store drop folder, with the example configuration as it
// ships, and reads the balances back through the CLI's fixed JSON form and
// the shop's balance table.
func TestSQLSiteE6E7E8(t *testing.T) {
	s := newSQLSite(t, nil)
	ctx := context.Background()

	code, out, errs := s.run("check-config", "--connect")
	if code != 0 {
		t.Fatalf("check-config --connect: exit %d\n%s%s", code, out, errs)
	}
	for _, job := range []string{"erp-documents", "erp-cancellations", "erp-customers", "shop-orders", "shop-customers",
		"shop-registrations", "shop-newsletter", "shop-reviews", "stores", "shop-balances", "till-balances"} {
		if !strings.Contains(out, job+": ok") {
			t.Errorf("check-config --connect does not report %s ok:\n%s", job, out)
		}
	}

	// The shop's customers: each registration earns 100 points (the
	// example's actions.registration), on top of SPEC's figures below.
	const reg = 100
	s.must(wcdb.AddUser(ctx, s.shop, 11, "anna@example.com", at("2026-03-01 10:00")))
	s.must(wcdb.AddUser(ctx, s.shop, 12, "bea@example.com", at("2026-03-01 10:30")))
	// Carla registers, subscribes to the newsletter and reviews a product.
	s.must(wcdb.AddUser(ctx, s.shop, 13, "carla@example.com", at("2026-03-01 11:00")))
	s.must(wcdb.Subscribe(ctx, s.shop, 13, "carla@example.com", at("2026-03-01 11:05")))
	_, err := wcdb.AddReview(ctx, s.shop, 13, 77, "carla@example.com", at("2026-03-01 12:00"))
	s.must(err)

	// E6: W1 placed, 120.00 EUR: 120 provisional. W2, placed before W1's
	// conversion, wants to spend 150 points: more than the 100 anna had
	// earned when she placed it.
	w1 := wcdb.Order{ID: 5001, Customer: 11, Email: "anna@example.com", Status: "wc-processing", Created: at("2026-03-02 09:00"),
		Items: []wcdb.Item{{Product: 1, Name: "A", Quantity: 1, Subtotal: "80.00", Total: "80.00"}, {Product: 2, Name: "B", Quantity: 2, Subtotal: "40.00", Total: "40.00"}}}
	s.must(wcdb.AddOrder(ctx, s.shop, w1))
	s.sync()
	want := `{"program":"shop","customer":"web:11","earned":100,"provisional":120,"spent":0,"expired":0,"expiring":[{"date":"2027-03-01","points":100}]}`
	if got := s.balance("shop", "web:11"); got != want {
		t.Fatalf("after W1 placed:\n got %s\nwant %s", got, want)
	}
	s.wantShop("11", reg, 120, 0)
	s.must(wcdb.AddOrder(ctx, s.shop, wcdb.Order{ID: 5002, Customer: 11, Status: "wc-on-hold", Created: at("2026-03-02 12:00"), Points: 150,
		Items: []wcdb.Item{{Product: 3, Name: "C", Quantity: 1, Subtotal: "30.00", Total: "30.00"}}}))

	// The ERP imports W1 as its order R/2026/W/1 and invoices it: 120
	// earned, on what the invoice holds.
	ord1 := ntsdb.OrderKey{Year: 2026, Series: "W", Number: 1}
	s.must(ntsdb.AddOrder(ctx, s.erp, ntsdb.Order{Key: ord1, Account: 1001, Date: at("2026-03-02 10:00"), Web: "5001",
		Lines: []ntsdb.Line{{Row: 1, Product: "A", Quantity: "1", Net: "80.00"}, {Row: 2, Product: "B", Quantity: "2", Net: "40.00"}}}))
	s.must(ntsdb.AddDocument(ctx, s.erp, ntsdb.Document{Type: "A", Year: 2026, Series: "A", Number: 118, Account: 1001, Date: at("2026-03-03 10:00"),
		Lines: []ntsdb.Line{{Row: 1, Product: "A", Quantity: "1", Gross: "80.00", Order: &ord1, OrderRow: 1},
			{Row: 2, Product: "B", Quantity: "2", Gross: "40.00", Order: &ord1, OrderRow: 2}}}))
	s.sync()
	s.wantBalance("shop", "web:11", reg+120, 30, 0)
	s.wantShop("11", reg+120, 30, 0)
	if code, out, _ := s.run("unmatched", "--program", "shop", "--json"); code != 0 || !strings.Contains(out, "earned before") {
		t.Fatalf("W2's spend of points earned after it was placed is not parked: %s", out)
	}

	// W3 spends 100 with payment not confirmed: earned 20, spent 100.
	s.must(wcdb.AddOrder(ctx, s.shop, wcdb.Order{ID: 5003, Customer: 11, Status: "wc-on-hold", Created: at("2026-03-04 11:00"), Points: 100,
		Items: []wcdb.Item{{Product: 4, Name: "D", Quantity: 1, Subtotal: "50.00", Total: "50.00"}}}))
	s.sync()
	s.wantBalance("shop", "web:11", reg+20, 80, 100)
	s.wantShop("11", reg+20, 80, 100)

	// W3 cancelled in the ERP: earned 120, spent 0, W3's accrual void.
	ord3 := ntsdb.OrderKey{Year: 2026, Series: "W", Number: 3}
	s.must(ntsdb.AddOrder(ctx, s.erp, ntsdb.Order{Key: ord3, Account: 1001, Date: at("2026-03-04 12:00"), Web: "5003",
		Lines: []ntsdb.Line{{Row: 1, Product: "D", Quantity: "1", Net: "50.00"}}}))
	s.must(ntsdb.CancelOrder(ctx, s.erp, ord3, at("2026-03-05 09:00")))
	s.sync()
	s.wantBalance("shop", "web:11", reg+120, 30, 0)
	s.wantShop("11", reg+120, 30, 0)

	// E7: the ERP's invoice for W9 arrives before web order W9: kept
	// waiting, then earned at once.
	ord9 := ntsdb.OrderKey{Year: 2026, Series: "W", Number: 9}
	s.must(ntsdb.AddOrder(ctx, s.erp, ntsdb.Order{Key: ord9, Account: 1002, Date: at("2026-03-05 19:00"), Web: "5009",
		Lines: []ntsdb.Line{{Row: 1, Product: "E", Quantity: "1", Net: "80.00"}}}))
	s.must(ntsdb.AddDocument(ctx, s.erp, ntsdb.Document{Type: "A", Year: 2026, Series: "A", Number: 119, Account: 1002, Date: at("2026-03-06 10:00"),
		Lines: []ntsdb.Line{{Row: 1, Product: "E", Quantity: "1", Gross: "80.00", Order: &ord9, OrderRow: 1}}}))
	s.sync()
	if code, out, _ := s.run("unmatched", "--program", "shop"); code != 0 || !strings.Contains(out, "5009") {
		t.Fatalf("the invoice of W9 is not kept waiting for W9: %s", out)
	}
	s.must(wcdb.AddOrder(ctx, s.shop, wcdb.Order{ID: 5009, Customer: 12, Status: "wc-processing", Created: at("2026-03-05 18:00"),
		Items: []wcdb.Item{{Product: 5, Name: "E", Quantity: 1, Subtotal: "80.00", Total: "80.00"}}}))
	s.sync()
	s.wantBalance("shop", "web:12", reg+80, 0, 0)
	s.wantShop("12", reg+80, 0, 0)

	// E8: a credit note of 20.00 on W1: earned goes down by 20; the same
	// credit note saved again (read again) changes nothing.
	s.must(ntsdb.AddDocument(ctx, s.erp, ntsdb.Document{Type: "N", Year: 2026, Series: "A", Number: 7, Account: 1001, Date: at("2026-03-10 10:00"),
		Lines: []ntsdb.Line{{Row: 1, Product: "B", Quantity: "1", Gross: "20.00", Order: &ord1, OrderRow: 2}}}))
	s.sync()
	s.wantBalance("shop", "web:11", reg+100, 30, 0)
	s.must(ntsdb.TouchDocument(ctx, s.erp, "N", 2026, "A", 7))
	out = s.sync()
	if !strings.Contains(out, "erp-documents: 1 fact(s) applied") {
		t.Errorf("the credit note saved again was not read again:\n%s", out)
	}
	s.wantBalance("shop", "web:11", reg+100, 30, 0)
	s.wantShop("11", reg+100, 30, 0)

	// Carla's registration, newsletter and review: 100 + 50 + 20.
	s.wantBalance("shop", "web:13", reg+50+20, 0, 0)
	s.wantShop("13", reg+50+20, 0, 0)

	// The stores' drop folder beside the databases.
	s.drop("stores", "S01-0900.csv", "store;till;receipt;line;at;card;gross;discount;spent\nS01;1;1;1;10/07/2026 09:00;0420001234;100,00;0;0\n")
	s.sync()
	s.wantBalance("card", "card:0420001234", 500, 0, 0)

	// Two orders saved in the same second, the one with the lower id after
	// the other was read: the margin the shop query reads again finds it.
	// W2 cancelled: its provisional 30 goes, its parked spend with it.
	second := at("2026-03-12 09:00")
	s.must(wcdb.SetStatus(ctx, s.shop, 5009, "wc-completed", second))
	s.sync()
	s.must(wcdb.SetStatus(ctx, s.shop, 5002, "wc-cancelled", second))
	s.sync()
	s.wantBalance("shop", "web:11", reg+100, 0, 0)
	s.wantShop("11", reg+100, 0, 0)
	s.wantBalance("shop", "web:12", reg+80, 0, 0)

	// Nothing was rejected on the way, and a last run changes nothing.
	code, out, errs = s.run("status", "--json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	var st struct {
		Jobs []struct {
			Name     string `json:"job"`
			Rejected int64  `json:"rejected"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, j := range st.Jobs {
		if j.Rejected != 0 {
			t.Errorf("job %s rejected %d row(s)", j.Name, j.Rejected)
		}
	}
	before := s.balance("shop", "web:11")
	s.sync()
	if after := s.balance("shop", "web:11"); after != before {
		t.Errorf("a run with nothing new changed web:11: %s -> %s", before, after)
	}
}

// TestSQLSiteCheckConnect shows what check-config --connect says of
// queries that do not give what their connector needs.
func TestSQLSiteCheckConnect(t *testing.T) {
	s := newSQLSite(t, func(c string) string {
		c = strings.Replace(c, "tm.tm_datdoc AS doc_date", "tm.tm_datdoc AS data_doc", 1)
		c = strings.Replace(c, "CAST(sub.meta_value AS DECIMAL(20,2)) AS gross", "CAST(sub.meta_value AS DOUBLE) AS gross", 1)
		return c
	})
	code, out, errs := s.run("check-config", "--connect")
	if code != 1 {
		t.Fatalf("check-config --connect: exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"erp-documents: FAILED", "doc_date", "shop-orders: FAILED", "gross", "DOUBLE", "shop-customers: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
