// Package rules holds the points programs and their rules as pure functions:
// units, expiry dates and, as they arrive, accrual, redemption limits,
// catalogs and badges. Nothing here does I/O or reads the clock: every
// instant is passed in by the caller.
package rules
