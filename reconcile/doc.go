// Package reconcile turns canonical facts (web orders, ERP documents) into
// ledger movements. The ledger state of an order is a function of the set
// of facts known about it: every fact is stored, the order's target is
// recomputed from all of them, and only the difference from what was
// written before is written, with deterministic idempotency keys. The same
// facts in any order, or any fact twice, give the same balances.
//
// See docs/reconcile.md for the design.
package reconcile
