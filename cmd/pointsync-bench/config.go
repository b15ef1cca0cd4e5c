package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// The configurations the measures run, written as an operator would:
// product defaults everywhere (batch size, SQLite durability, retries)
// but the log level, kept at warn so that logging does not weigh on the
// figures.

// tillConfig reads the stores' till files into an amount card program
// that creates a customer for a card first seen at a till.
func tillConfig(s *store) (string, error) {
	return writeConfig(s, `log: {level: warn}
programs:
  - id: card
    unit: amount
    create_card_customers: true
    expiry: {policy: days, days: 365}
    accrual: {mode: proportional, points: 5, every: "1.00"}
connectors:
  - name: `+connStores+`
    kind: csv_drop
    schedule: "@every 1m"
    program: card
    facts: till_receipt
    drop: {dir: %q, min_age: 1s}
    csv: {delimiter: ";", decimal: comma}
    date_formats: ["02/01/2006 15:04"]
`, filepath.Join(s.dir, "drops", connStores))
}

// ordersConfig reads the shop's customers and orders and the ERP's
// documents from drop folders into a points program.
func ordersConfig(s *store) (string, error) {
	drops := filepath.Join(s.dir, "drops")
	return writeConfig(s, `log: {level: warn}
programs:
  - id: shop
    expiry: {policy: days, days: 365}
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
    redemption: {rate: {points: 100, value: "1.00"}}
connectors:
  - name: `+connCustomers+`
    kind: csv_drop
    program: shop
    facts: link
    drop: {dir: %q, min_age: 1s}
  - name: `+connOrders+`
    kind: csv_drop
    program: shop
    facts: web_order
    ident_kind: web
    drop: {dir: %q, min_age: 1s}
    csv: {delimiter: ",", decimal: point}
    statuses: {wc-pending: placed, wc-processing: paid, wc-on-hold: payment_unconfirmed, wc-completed: completed, wc-cancelled: cancelled}
  - name: `+connERP+`
    kind: csv_drop
    program: shop
    facts: erp_document
    drop: {dir: %q, min_age: 1s}
    csv: {delimiter: ";", decimal: comma}
    date_formats: ["02/01/2006 15:04"]
    columns: {doc_type: tipo, year: anno, series: serie, number: numero, order: ordine, date: data, line: riga, product: articolo, quantity: qta, gross: importo, supersedes: sostituisce}
    document_kinds: {F: invoice, B: delivery_note, X: cancellation, N: credit_note}
`, filepath.Join(drops, connCustomers), filepath.Join(drops, connOrders), filepath.Join(drops, connERP))
}

// serverConfig is the web server on the bulk ledger: program shop with
// redemption rules, one bearer token, no admin UI.
func serverConfig(s *store, tokenSHA256 string) (string, error) {
	return writeConfig(s, `log: {level: warn}
programs:
  - id: `+benchProgram+`
    expiry: {policy: days, days: 365}
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
    redemption: {rate: {points: 100, value: "1.00"}}
server:
  listen: 127.0.0.1:0
  tokens:
    - {name: bench, scopes: [admin], sha256: %s}
  ui: {disabled: true}
`, tokenSHA256)
}

// writeConfig writes the ledger section and body (a format with args)
// to the store's folder and returns the file's path.
func writeConfig(s *store, body string, args ...any) (string, error) {
	ledgerSection, err := s.ledgerYAML()
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.dir, "pointsync.yaml")
	return path, os.WriteFile(path, []byte(ledgerSection+fmt.Sprintf(body, args...)), 0o600)
}
