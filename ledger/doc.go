// Package ledger owns the points ledger: customers and their identifiers,
// accounts, append-only movements with two-phase states, lots with expiry,
// balances, idempotency and the admin operations, and their storage
// (SQLite by default, MySQL/MariaDB for a shared ledger) with embedded
// migrations.
//
// # Model
//
// A movement is never changed or deleted. A pending credit or spend is
// finished by a later post or void movement that points at it; a correction
// is a new movement that points at the one it corrects.
//
// Every posted credit is a lot. Debits (spend, withdraw, reset) consume lots
// earliest expiry first, lots without expiry last, and record what they took
// in the consumptions table, so a void or refund gives points back to the
// lots they came from, with those lots' expiry. A pending spend consumes its
// lots at once: the points are committed to the order and cannot expire
// under it.
//
// The tables lots and accounts are projections of the movements, kept in the
// same transaction; balances are read from them and from the clock, so a
// balance is right even when the expiry sweep has not run.
//
// The daemon keeps its own state in the same database, so that a batch's
// facts, movements, rejected rows (rejects), finished whole inputs (units)
// and the source's new position (cursors) commit together; jobs holds each
// scheduled job's status. ChangedCustomers and MovementsAfter follow the
// movements by id for exports and pushes.
//
// Only the till path may overdraw (SpendRequest.Overdraft): the shortfall
// becomes debt that later credits pay off first, and earned is negative
// until they do.
package ledger
