// Package wcdb is a test fixture: the tables of a WooCommerce shop with
// High-Performance Order Storage (wp_wc_orders and its satellites), its
// users, MailPoet newsletter subscribers and product reviews, as
// pointsync's example configuration reads them, the balance table it
// writes back, and helpers that write them as the shop would.
package wcdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/internal/testdb"
)

// Schema creates the tables (MySQL/MariaDB), as WooCommerce 8/9 creates
// them, trimmed of the columns pointsync never reads.
var Schema = []string{
	`CREATE TABLE wp_users (
		ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		user_login VARCHAR(60) NOT NULL DEFAULT '',
		user_email VARCHAR(100) NOT NULL DEFAULT '',
		user_registered DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
		PRIMARY KEY (ID), KEY user_email (user_email))`,
	`CREATE TABLE wp_wc_orders (
		id BIGINT UNSIGNED NOT NULL,
		status VARCHAR(20) NULL,
		currency VARCHAR(10) NULL,
		type VARCHAR(20) NULL,
		tax_amount DECIMAL(26,8) NULL,
		total_amount DECIMAL(26,8) NULL,
		customer_id BIGINT UNSIGNED NULL,
		billing_email VARCHAR(320) NULL,
		date_created_gmt DATETIME NULL,
		date_updated_gmt DATETIME NULL,
		parent_order_id BIGINT UNSIGNED NULL,
		payment_method VARCHAR(100) NULL,
		PRIMARY KEY (id), KEY status (status), KEY date_created (date_created_gmt),
		KEY customer_id_billing_email (customer_id, billing_email(171)),
		KEY type_status_date (type, status, date_created_gmt), KEY date_updated (date_updated_gmt))`,
	`CREATE TABLE wp_wc_order_operational_data (
		id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		order_id BIGINT UNSIGNED NULL,
		created_via VARCHAR(100) NULL,
		date_paid_gmt DATETIME NULL,
		date_completed_gmt DATETIME NULL,
		shipping_total_amount DECIMAL(26,8) NULL,
		discount_total_amount DECIMAL(26,8) NULL,
		PRIMARY KEY (id), UNIQUE KEY order_id (order_id))`,
	`CREATE TABLE wp_wc_orders_meta (
		id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		order_id BIGINT UNSIGNED NULL,
		meta_key VARCHAR(255) NULL,
		meta_value TEXT NULL,
		PRIMARY KEY (id), KEY order_id_meta_key (order_id, meta_key(100)))`,
	`CREATE TABLE wp_woocommerce_order_items (
		order_item_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		order_item_name TEXT NOT NULL,
		order_item_type VARCHAR(200) NOT NULL DEFAULT '',
		order_id BIGINT UNSIGNED NOT NULL,
		PRIMARY KEY (order_item_id), KEY order_id (order_id))`,
	`CREATE TABLE wp_woocommerce_order_itemmeta (
		meta_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		order_item_id BIGINT UNSIGNED NOT NULL,
		meta_key VARCHAR(255) NULL,
		meta_value LONGTEXT NULL,
		PRIMARY KEY (meta_id), KEY order_item_id (order_item_id), KEY meta_key (meta_key(32)))`,
	`CREATE TABLE wp_mailpoet_subscribers (
		id INT UNSIGNED NOT NULL AUTO_INCREMENT,
		wp_user_id BIGINT NULL,
		email VARCHAR(150) NOT NULL,
		status VARCHAR(12) NOT NULL DEFAULT 'unconfirmed',
		created_at TIMESTAMP NULL,
		updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
		last_subscribed_at TIMESTAMP NULL,
		PRIMARY KEY (id), UNIQUE KEY email (email), KEY updated_at (updated_at))`,
	`CREATE TABLE wp_comments (
		comment_ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		comment_post_ID BIGINT UNSIGNED NOT NULL DEFAULT 0,
		comment_author_email VARCHAR(100) NOT NULL DEFAULT '',
		comment_date_gmt DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
		comment_approved VARCHAR(20) NOT NULL DEFAULT '1',
		comment_type VARCHAR(20) NOT NULL DEFAULT 'comment',
		user_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
		PRIMARY KEY (comment_ID), KEY comment_approved_date_gmt (comment_approved, comment_date_gmt))`,
	// The balance table pointsync writes: one row per customer and program.
	BalanceTable,
}

// BalanceTable is the table the example's sql_table export writes, as the
// README tells shops to create it.
const BalanceTable = `CREATE TABLE wp_pointsync_balances (
		customer_id VARCHAR(64) NOT NULL,
		program VARCHAR(64) NOT NULL,
		earned BIGINT NOT NULL,
		provisional BIGINT NOT NULL,
		spent BIGINT NOT NULL,
		expired BIGINT NOT NULL,
		expiring_date DATE NULL,
		expiring_points BIGINT NULL,
		updated_at DATETIME(6) NOT NULL,
		PRIMARY KEY (customer_id, program))`

// Create makes the tables in db.
func Create(ctx context.Context, db *sql.DB) error {
	for _, s := range Schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("wcdb: %w\n%s", err, s)
		}
	}
	return nil
}

// gmt is how WooCommerce writes a *_gmt column: UTC wall clock.
func gmt(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// AddUser registers a shop customer.
func AddUser(ctx context.Context, db *sql.DB, id int64, email string, at time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wp_users (ID, user_login, user_email, user_registered) VALUES (?, ?, ?, ?)`,
		id, email, email, gmt(at))
	return err
}

// Item is a line item of an order: Subtotal before coupons, Total after.
type Item struct {
	Product  int64
	Name     string
	Quantity int
	Subtotal string
	Total    string
}

// Order is a shop order.
type Order struct {
	ID       int64
	Customer int64 // 0 for a guest
	Email    string
	Status   string // wc-pending, wc-processing, wc-on-hold, wc-completed, wc-cancelled, wc-refunded
	Created  time.Time
	Shipping string
	// Points is what the checkout spent of the customer's points, kept in
	// the order's meta _pointsync_points_spent; 0 for none.
	Points int64
	Items  []Item
}

// AddOrder writes an order, its items and meta in one transaction, as
// the checkout does.
func AddOrder(ctx context.Context, db *sql.DB, o Order) error {
	if o.Shipping == "" {
		o.Shipping = "0"
	}
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO wp_wc_orders (id, status, currency, type, tax_amount, total_amount, customer_id, billing_email, date_created_gmt, date_updated_gmt, payment_method)
			VALUES (?, ?, 'EUR', 'shop_order', 0, 0, ?, ?, ?, ?, 'bacs')`,
			o.ID, o.Status, o.Customer, o.Email, gmt(o.Created), gmt(o.Created)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wp_wc_order_operational_data (order_id, created_via, shipping_total_amount, discount_total_amount)
			VALUES (?, 'checkout', ?, 0)`, o.ID, o.Shipping); err != nil {
			return err
		}
		if o.Points != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO wp_wc_orders_meta (order_id, meta_key, meta_value) VALUES (?, '_pointsync_points_spent', ?)`,
				o.ID, o.Points); err != nil {
				return err
			}
		}
		for _, it := range o.Items {
			res, err := tx.ExecContext(ctx, `INSERT INTO wp_woocommerce_order_items (order_item_name, order_item_type, order_id) VALUES (?, 'line_item', ?)`,
				it.Name, o.ID)
			if err != nil {
				return err
			}
			itemID, err := res.LastInsertId()
			if err != nil {
				return err
			}
			for _, m := range [][2]any{{"_product_id", it.Product}, {"_qty", it.Quantity}, {"_line_subtotal", it.Subtotal}, {"_line_total", it.Total}} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO wp_woocommerce_order_itemmeta (order_item_id, meta_key, meta_value) VALUES (?, ?, ?)`,
					itemID, m[0], fmt.Sprint(m[1])); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE wp_wc_orders SET total_amount = (SELECT COALESCE(SUM(CAST(meta_value AS DECIMAL(26,8))), 0)
			FROM wp_woocommerce_order_itemmeta m JOIN wp_woocommerce_order_items i ON i.order_item_id = m.order_item_id
			WHERE i.order_id = ? AND m.meta_key = '_line_total') + ? WHERE id = ?`, o.ID, o.Shipping, o.ID)
		return err
	})
}

// SetStatus moves an order to status at the time given, as the shop's
// admin or payment gateway does, stamping the paid and completed dates.
func SetStatus(ctx context.Context, db *sql.DB, id int64, status string, at time.Time) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE wp_wc_orders SET status = ?, date_updated_gmt = ? WHERE id = ?`, status, gmt(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("wcdb: order %d: %d rows changed (%v)", id, n, err)
		}
		switch status {
		case "wc-processing":
			_, err = tx.ExecContext(ctx, `UPDATE wp_wc_order_operational_data SET date_paid_gmt = ? WHERE order_id = ?`, gmt(at), id)
		case "wc-completed":
			_, err = tx.ExecContext(ctx, `UPDATE wp_wc_order_operational_data SET date_completed_gmt = ? WHERE order_id = ?`, gmt(at), id)
		}
		return err
	})
}

// Subscribe adds a confirmed newsletter subscriber.
func Subscribe(ctx context.Context, db *sql.DB, userID int64, email string, at time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wp_mailpoet_subscribers (wp_user_id, email, status, created_at, updated_at, last_subscribed_at)
		VALUES (?, ?, 'subscribed', ?, ?, ?)`, userID, email, gmt(at), gmt(at), gmt(at))
	return err
}

// AddReview adds an approved product review.
func AddReview(ctx context.Context, db *sql.DB, userID, product int64, email string, at time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO wp_comments (comment_post_ID, comment_author_email, comment_date_gmt, comment_approved, comment_type, user_id)
		VALUES (?, ?, ?, '1', 'review', ?)`, product, email, gmt(at), userID)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
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

// Open creates a shop database of its own on the MySQL/MariaDB server of
// POINTSYNC_TEST_MYSQL_DSN (the test is skipped without it), with the
// tables of Schema, and drops it when the test ends. It returns the
// database's DSN, as pointsync's configuration takes it, and a
// connection to it.
func Open(t testing.TB) (string, *sql.DB) {
	t.Helper()
	server := os.Getenv(testdb.Env)
	if server == "" {
		t.Skipf("%s is not set: the web shop on MySQL is skipped (example: %s='root@tcp(127.0.0.1:3306)/')", testdb.Env, testdb.Env)
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("%s: %v", testdb.Env, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "pointsync_test_shop_" + hex.EncodeToString(b[:])
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create the shop database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop the shop database: %v", err)
		}
	})
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := Create(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return dsn, db
}
