// Package daemon wires pointsync together and runs it as a service: it
// builds the connectors and exports of the configuration, schedules each
// as a job on its own cron schedule, applies every connector batch in one
// ledger transaction with its cursor (exactly once), retries failing jobs
// with backoff without stopping the others, persists each job's status,
// and shuts down cleanly: the first signal lets the batch in flight
// finish, a second one aborts it.
//
// One daemon writes a ledger at a time. On SQLite a file lock keeps a
// second one off (AcquireLock). On a MySQL ledger shared by several hosts
// the daemons take turns through a lease row in the database: the active
// one renews it, the others stand by and take over when it expires or is
// released, and every write transaction checks the lease (fencing), so a
// daemon that lost it writes nothing more (see lease.go).
package daemon
