package tdstest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// SQL Server error numbers tdstest sends.
const (
	errSyntax          = 102   // Incorrect syntax near '%s'.
	errUnclosedQuote   = 105   // Unclosed quotation mark after the character string '%s'.
	errMustDeclare     = 137   // Must declare the scalar variable "%s".
	errNotBuiltin      = 195   // '%s' is not a recognized built-in function name.
	errInvalidColumn   = 207   // Invalid column name '%s'.
	errInvalidObject   = 208   // Invalid object name '%s'.
	errDateConversion  = 241   // Conversion failed when converting date and/or time from character string.
	errDateRange       = 242   // ... resulted in an out-of-range value.
	errConversion      = 245   // Conversion failed when converting the %s value '%s' to data type %s.
	errNullInsert      = 515   // Cannot insert the value NULL into column ...
	errConstraint      = 547   // The %s statement conflicted with the %s constraint ...
	errNoSuchDatabase  = 911   // Database '%s' does not exist.
	errLockTimeout     = 1222  // Lock request time out period exceeded.
	errUniqueKey       = 2627  // Violation of %s constraint '%s'. Cannot insert duplicate key ...
	errTruncation      = 2628  // String or binary data would be truncated in table '%s', column '%s'.
	errObjectExists    = 2714  // There is already an object named '%s' in the database.
	errNoProcedure     = 2812  // Could not find stored procedure '%s'.
	errCommitNoBegin   = 3902  // The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.
	errRollbackNoBegin = 3903  // The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.
	errCannotOpenDB    = 4060  // Cannot open database "%s" requested by the login. The login failed.
	errOverflow        = 8115  // Arithmetic overflow error converting %s to data type %s.
	errNumericConvert  = 8114  // Error converting data type %s to %s.
	errLoginFailed     = 18456 // Login failed for user '%s'.
	errUnsupported     = 40000 // tdstest: not supported (no SQL Server equivalent number).
	errGeneric         = 50000 // anything else SQLite reports
	errProtocol        = 4002  // The incoming tabular data stream (TDS) protocol stream is incorrect.
	errRPCParam        = 8016  // The incoming TDS RPC protocol stream is incorrect. Parameter %d ...
)

// sqlError is an error as SQL Server reports it: it becomes an ERROR
// token, which go-mssqldb surfaces as mssql.Error with the same Number.
type sqlError struct {
	number int32
	class  byte
	msg    string
	// cause is the SQLite (or Go) error behind it, if any.
	cause error
}

func (e *sqlError) Error() string { return fmt.Sprintf("msg %d: %s", e.number, e.msg) }
func (e *sqlError) Unwrap() error { return e.cause }

// errorf builds a class 16 error.
func errorf(number int32, format string, args ...any) *sqlError {
	return &sqlError{number: number, class: 16, msg: fmt.Sprintf(format, args...)}
}

// statementTerminating reports errors after which SQL Server goes on
// with the next statement of the batch (constraint violations); any
// other error ends the batch.
func (e *sqlError) statementTerminating() bool {
	switch e.number {
	case errUniqueKey, errNullInsert, errConstraint, errTruncation, errOverflow:
		return true
	}
	return false
}

var (
	reNoTable   = regexp.MustCompile(`no such table: (?:\w+\.)?(\S+)`)
	reNoColumn  = regexp.MustCompile(`no such column: (\S+)`)
	reNoFunc    = regexp.MustCompile(`no such function: (\S+)`)
	reUnique    = regexp.MustCompile(`UNIQUE constraint failed: (\w+)\.(\w+)`)
	rePrimary   = regexp.MustCompile(`(?:UNIQUE|PRIMARY KEY) constraint failed: (\w+)\.`)
	reNotNull   = regexp.MustCompile(`NOT NULL constraint failed: (\w+)\.(\w+)`)
	reCheck     = regexp.MustCompile(`CHECK constraint failed: (.+)$`)
	reSyntax    = regexp.MustCompile(`near "([^"]*)": syntax error`)
	reExists    = regexp.MustCompile(`(?:table|index|view) "?([^" ]+)"? already exists`)
	reMissingNm = regexp.MustCompile(`missing named argument "([^"]+)"`)
	reOwn       = regexp.MustCompile(`msg (\d+): (.*?)(?: \(\d+\))?$`)
)

// SQLite extended result codes for constraint failures.
const (
	sqliteBusy              = 5
	sqliteLocked            = 6
	sqliteInterrupt         = 9
	sqliteConstraint        = 19
	sqliteConstraintPK      = 1555
	sqliteConstraintUnique  = 2067
	sqliteConstraintNotNull = 1299
	sqliteConstraintFK      = 787
	sqliteConstraintCheck   = 275
)

// mapError turns an error from SQLite (or from tdstest's own checks)
// into what SQL Server would report, keeping SQLite's text.
func mapError(err error, database string) *sqlError {
	var se *sqlError
	if errors.As(err, &se) {
		return se
	}
	text := err.Error()
	var code int
	var le *sqlite.Error
	if errors.As(err, &le) {
		code = le.Code()
	}
	wrap := func(number int32, class byte, format string, args ...any) *sqlError {
		return &sqlError{number: number, class: class, msg: fmt.Sprintf(format, args...) + " (sqlite: " + text + ")", cause: err}
	}
	if m := reOwn.FindStringSubmatch(text); m != nil {
		// an error of tdstest's own SQL functions, passed through SQLite
		n, _ := strconv.Atoi(m[1])
		return &sqlError{number: int32(n), class: 16, msg: m[2], cause: err}
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), code&0xff == sqliteInterrupt:
		return wrap(errGeneric, 16, "The statement was interrupted.")
	case code&0xff == sqliteBusy || code&0xff == sqliteLocked:
		return wrap(errLockTimeout, 16, "Lock request time out period exceeded.")
	}
	if m := reCheck.FindStringSubmatch(text); m != nil {
		name := strings.Trim(m[1], `"`)
		if table, col, ok := strings.Cut(strings.TrimPrefix(name, checkLength), ":"); ok && strings.HasPrefix(name, checkLength) {
			return wrap(errTruncation, 16, "String or binary data would be truncated in table '%s.dbo.%s', column '%s'.", database, table, col)
		}
		if table, col, ok := strings.Cut(strings.TrimPrefix(name, checkRange), ":"); ok && strings.HasPrefix(name, checkRange) {
			return wrap(errOverflow, 16, "Arithmetic overflow error converting a value to the data type of column '%s' of table '%s'.", col, table)
		}
		return wrap(errConstraint, 16, "The statement conflicted with the CHECK constraint \"%s\".", name)
	}
	if m := reUnique.FindStringSubmatch(text); m != nil || code == sqliteConstraintPK || code == sqliteConstraintUnique {
		table := ""
		if m2 := rePrimary.FindStringSubmatch(text); m2 != nil {
			table = m2[1]
		}
		kind := "UNIQUE KEY"
		if code == sqliteConstraintPK {
			kind = "PRIMARY KEY"
		}
		return wrap(errUniqueKey, 14, "Violation of %s constraint. Cannot insert duplicate key in object 'dbo.%s'.", kind, table)
	}
	if m := reNotNull.FindStringSubmatch(text); m != nil {
		return wrap(errNullInsert, 16, "Cannot insert the value NULL into column '%s', table '%s.dbo.%s'; column does not allow nulls.", m[2], database, m[1])
	}
	if code == sqliteConstraintFK || strings.Contains(text, "FOREIGN KEY constraint failed") {
		return wrap(errConstraint, 16, "The statement conflicted with a FOREIGN KEY constraint.")
	}
	if m := reNoTable.FindStringSubmatch(text); m != nil {
		return wrap(errInvalidObject, 16, "Invalid object name '%s'.", m[1])
	}
	if m := reNoColumn.FindStringSubmatch(text); m != nil {
		name := m[1]
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		return wrap(errInvalidColumn, 16, "Invalid column name '%s'.", name)
	}
	if m := reNoFunc.FindStringSubmatch(text); m != nil {
		return wrap(errNotBuiltin, 16, "'%s' is not a recognized built-in function name.", m[1])
	}
	if m := reExists.FindStringSubmatch(text); m != nil {
		return wrap(errObjectExists, 16, "There is already an object named '%s' in the database.", m[1])
	}
	if m := reMissingNm.FindStringSubmatch(text); m != nil {
		return wrap(errMustDeclare, 15, "Must declare the scalar variable \"@%s\".", m[1])
	}
	if m := reSyntax.FindStringSubmatch(text); m != nil {
		return wrap(errSyntax, 15, "Incorrect syntax near '%s'.", m[1])
	}
	if strings.Contains(text, "syntax error") || strings.Contains(text, "incomplete input") {
		return wrap(errSyntax, 15, "Incorrect syntax.")
	}
	return wrap(errGeneric, 16, "%s", "SQLite could not run the statement.")
}
