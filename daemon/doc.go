// Package daemon wires pointsync together and runs it as a service: it
// builds the connectors and exports of the configuration, schedules each
// as a job on its own cron schedule, applies every connector batch in one
// ledger transaction with its cursor (exactly once), retries failing jobs
// with backoff without stopping the others, persists each job's status,
// keeps a second daemon off the same SQLite ledger, and shuts down
// cleanly: the first signal lets the batch in flight finish, a second one
// aborts it.
package daemon
