package mapping

import "fmt"

// Record is one row a source read (a CSV row, a SQL row, a JSON object):
// its values by logical field name ("store", "order", "gross", ...; see
// Fields), as text in the source's own notation.
type Record struct {
	Seq    int64             // position in its input, from 1; cursors count these
	Origin string            // file name or URL, for messages
	Line   int               // physical line where it starts; 0 when not a file
	Values map[string]string // logical field -> text; a field the source lacks is absent
}

// RowError is a record, or a group of records, that could not be made
// into a fact: where it is and why, for the rejected-rows report.
type RowError struct {
	Origin string
	Line   int
	Column string // logical field at fault, "" for the whole record
	Value  string
	Reason string
}

func (e *RowError) Error() string {
	s := fmt.Sprintf("%s:%d: ", e.Origin, e.Line)
	if e.Column != "" {
		s += fmt.Sprintf("%s %q: ", e.Column, e.Value)
	}
	return s + e.Reason
}

// Item is what a Mapper makes of one group of records (the rows of one
// receipt, order or document): a fact, or the error that stopped it.
type Item struct {
	Fact *Fact
	Err  *RowError
	// Seq is the Seq of the group's last record: once the item is
	// applied, the source's cursor may move past it.
	Seq int64
	// Origin and Line locate the group's first record.
	Origin string
	Line   int
}
