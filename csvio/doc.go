// Package csvio owns pointsync's CSV files: the dialects operators and tills
// use (delimiter, decimal comma or point, date layouts, Windows-1252 or UTF-8
// with or without a BOM), streaming readers and writers for each file kind
// (bulk adjustment imports, balance exports) and the row-level errors that let
// one bad row be reported by line without rejecting the rest of the file.
//
// Everything streams: a file is read one record at a time and no record may
// grow beyond MaxRecordBytes, so a 10 GB file or a quote left open costs a
// bounded amount of memory. Numbers are parsed strictly into integers (cents
// or whole points), never through floating point.
//
// The package imports nothing of pointsync, so the rest of the program maps
// its values (Date, cents, points) into its own types.
package csvio
