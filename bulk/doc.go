// Package bulk owns the CSV forms an operator moves in bulk: the import of
// adjustments (customer, points, optional expiry, note) and the export of
// every customer's balance. The command line (pointsync import / export)
// and the HTTP API share it, so a file behaves the same through either:
// checked whole before anything is written, applied in one transaction
// (all or nothing unless SkipInvalid), keyed by its content so importing
// it again under any name changes nothing, its bad rows reported with
// their line in the same line;column;value;reason form.
//
// The package reads its settings as plain options: the caller maps the
// configuration (dialect, header names) and the program to them.
package bulk
