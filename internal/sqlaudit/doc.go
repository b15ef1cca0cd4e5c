// Package sqlaudit holds the module's SQL audit, a test: it parses every
// non-test Go file of the module and finds every database/sql call that
// takes SQL text (Exec, Query, QueryRow, Prepare and their Context forms,
// and the module's own wrappers that pass their SQL on to them) whose SQL
// is not a constant expression. Each such site must be in the test's
// reviewed allowlist with the reason it is safe (identifiers from
// validated configuration quoted by a named function, an operator's
// query parsed by connectors/sqlquery, ...): a new one fails the test
// until someone reviews it. Values always travel as parameters.
//
// It has no code outside its test; this file gives the package its name
// and its documentation.
package sqlaudit
