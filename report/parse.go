package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnknownFormat reports input that is valid JSON but not a report from
// a scanner this package reads. Check it with [errors.Is].
var ErrUnknownFormat = errors.New("unknown report format")

// readable names the formats Parse reads, with the scanner options that
// write them, for the messages of ErrUnknownFormat.
const readable = "darn reads Trivy JSON (--format json) or Grype JSON (-o json) reports"

// utf8BOM is the byte-order mark some Windows tools put before UTF-8 text.
var utf8BOM = []byte("\xef\xbb\xbf")

// unknownFormat is ErrUnknownFormat with what the input is, when known,
// and what Parse reads instead.
func unknownFormat(what string) error {
	if what == "" {
		return fmt.Errorf("%w: %s", ErrUnknownFormat, readable)
	}
	return fmt.Errorf("%w: %s; %s", ErrUnknownFormat, what, readable)
}

// LocationError is an error at a known place in the report, such as a JSON
// syntax error. Line and Column are 1-based; Column counts bytes. Callers
// use them to point the user at the offending spot in their file.
type LocationError struct {
	Line   int
	Column int
	Err    error
}

// Error returns "line L, column C: " followed by the cause.
func (e *LocationError) Error() string {
	return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
}

// Unwrap returns the decoder's error, such as a [*json.SyntaxError].
func (e *LocationError) Unwrap() error { return e.Err }

// format is a scanner's report format, as detected from the content.
type format int

const (
	formatUnknown format = iota
	formatTrivy
	formatGrype
)

// Parse reads a scanner's JSON report, detecting the scanner from the
// content. It reads Trivy reports of every schema: SchemaVersion 2, the
// legacy top-level array of results, and a bare null (an empty report);
// and Grype's `-o json` reports, from grype 0.7.0 on. A leading UTF-8
// byte-order mark is skipped.
// Input that is valid JSON but no known report fails with
// [ErrUnknownFormat], whose message names the formats Parse reads and,
// for a SARIF, CycloneDX, SPDX or OpenVEX document, what the input is;
// malformed JSON fails with a [*LocationError], whose position counts
// from after a byte-order mark as editors do.
func Parse(dt []byte) (Report, error) {
	dt = bytes.TrimPrefix(dt, utf8BOM)
	f, err := detect(dt)
	if err != nil {
		return Report{}, fmt.Errorf("parsing report: %w", err)
	}
	switch f {
	case formatTrivy:
		return parseTrivy(dt)
	case formatGrype:
		return parseGrype(dt)
	}
	return Report{}, fmt.Errorf("parsing report: %w", unknownFormat(""))
}

// detect finds the scanner from the shape of the top-level value. It
// decodes the whole input, so malformed JSON is reported here, with its
// location, whatever the scanner.
func detect(dt []byte) (format, error) {
	trimmed := bytes.TrimSpace(dt)
	if len(trimmed) == 0 {
		return formatUnknown, unknownFormat("the input is empty")
	}
	if isUTF16(trimmed) {
		return formatUnknown, unknownFormat("the input is UTF-16 text, as Windows PowerShell's > writes it; save the report as UTF-8 (trivy --output FILE, grype --file FILE)")
	}
	switch trimmed[0] {
	case 'n':
		// Legacy Trivy writes a bare null when it found nothing.
		return formatTrivy, decode(dt, new(any))
	case '[':
		return detectArray(dt)
	case '{':
		return detectObject(dt)
	}
	if err := decode(dt, new(any)); err != nil {
		return formatUnknown, err
	}
	return formatUnknown, unknownFormat("")
}

// detectArray accepts the legacy Trivy array only when every element is a
// result naming its Target, so that an unrelated array is not read as an
// empty report.
func detectArray(dt []byte) (format, error) {
	var elems []json.RawMessage
	if err := decode(dt, &elems); err != nil {
		return formatUnknown, err
	}
	for _, raw := range elems {
		var r struct{ Target string }
		if json.Unmarshal(raw, &r) != nil || r.Target == "" {
			return formatUnknown, unknownFormat("")
		}
	}
	return formatTrivy, nil
}

// detectObject tells the scanners apart by their top-level keys, matched
// case-sensitively as the scanners write them (encoding/json's struct
// matching would also take "results" for "Results").
func detectObject(dt []byte) (format, error) {
	var keys map[string]json.RawMessage
	if err := decode(dt, &keys); err != nil {
		return formatUnknown, err
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("SchemaVersion") || has("Results"):
		return formatTrivy, nil
	case has("matches"):
		return formatGrype, nil
	}
	if kind := foreignDocument(keys); kind != "" {
		return formatUnknown, unknownFormat("this is " + kind + " document")
	}
	return formatUnknown, unknownFormat("")
}

// decode unmarshals dt into v and turns the decoder's byte offset into a
// line and column, which is what a user can find in an editor.
func decode(dt []byte, v any) error {
	err := json.Unmarshal(dt, v)
	if err == nil {
		return nil
	}
	if line, col, ok := Locate(dt, err); ok {
		return &LocationError{Line: line, Column: col, Err: err}
	}
	return err
}

// Locate returns the 1-based line and column in dt of a JSON syntax or type
// error; ok is false for errors that carry no offset. Other readers of
// user-written JSON (source policies) use it too.
func Locate(dt []byte, err error) (line, col int, ok bool) {
	var offset int64
	if e, isSyntax := errors.AsType[*json.SyntaxError](err); isSyntax {
		offset = e.Offset
	} else if e, isType := errors.AsType[*json.UnmarshalTypeError](err); isType {
		offset = e.Offset
	} else {
		return 0, 0, false
	}
	line, col = position(dt, offset)
	return line, col, true
}

// position converts a decoder offset, which counts the bytes read up to
// and including the offending one, into that byte's 1-based line and
// column.
func position(dt []byte, offset int64) (line, col int) {
	n := min(max(int(offset), 1), len(dt))
	if n == 0 {
		return 1, 1
	}
	last := n - 1
	line = 1 + bytes.Count(dt[:last], []byte{'\n'})
	col = last - bytes.LastIndexByte(dt[:last], '\n')
	return line, col
}
