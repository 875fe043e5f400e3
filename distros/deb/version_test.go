package deb_test

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/plan"
)

var _ plan.Comparer = deb.Versions{}

type versionCase struct {
	line     int
	a, op, b string
}

func readVersionCases(t *testing.T) []versionCase {
	t.Helper()
	f, err := os.Open("testdata/versions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []versionCase
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || !slices.Contains([]string{"<", "=", ">", "!"}, fields[1]) {
			t.Fatalf("versions.txt:%d: want \"a op b\", got %q", n, line)
		}
		unq := func(s string) string { return strings.ReplaceAll(s, `""`, "") }
		cases = append(cases, versionCase{line: n, a: unq(fields[0]), op: fields[1], b: unq(fields[2])})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestVersionsCompare(t *testing.T) {
	want := map[string]int{"<": -1, "=": 0, ">": 1}
	for _, tc := range readVersionCases(t) {
		got, err := deb.Versions{}.Compare(tc.a, tc.b)
		if tc.op == "!" {
			if err == nil {
				t.Errorf("versions.txt:%d: Compare(%q, %q) = %d, want an error", tc.line, tc.a, tc.b, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("versions.txt:%d: %v", tc.line, err)
			continue
		}
		if got != want[tc.op] {
			t.Errorf("versions.txt:%d: Compare(%q, %q) = %d, want %d", tc.line, tc.a, tc.b, got, want[tc.op])
		}
		// The order must be antisymmetric, or a plan could pick different
		// winners depending on argument order.
		if rev, _ := (deb.Versions{}).Compare(tc.b, tc.a); rev != -got {
			t.Errorf("versions.txt:%d: Compare(%q, %q) = %d, want %d", tc.line, tc.b, tc.a, rev, -got)
		}
	}
}

func TestVersionsCompareError(t *testing.T) {
	_, err := deb.Versions{}.Compare("1.0", "abc")
	const want = `comparing versions "1.0" and "abc": invalid version "abc": upstream_version must start with digit`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestVersionsCompareStrict covers versions that go-deb-version accepts
// but dpkg 1.21 rejects or flags as bad syntax, and numbers too long for
// go-deb-version to order: Compare must fail on them rather than answer.
func TestVersionsCompareStrict(t *testing.T) {
	tests := []struct{ v, err string }{
		{"1.0-", "revision is empty"},
		{"1.0--", "revision is empty"},
		{"1_0", "upstream version: invalid character '_'"},
		{"1.0-a_b", "revision: invalid character '_'"},
		{"1.\u00e9", "upstream version: invalid character 'é'"},
		{"2147483648:1", "epoch 2147483648 is too big"},
		{"1.1234567890123456789", "number 1234567890123456789 has more than 18 digits"},
		{"99999999999999999999-1", "number 99999999999999999999 has more than 18 digits"},
		{"2147483647:1", ""},
		{"1.123456789012345678", ""},
		{"1.0000000000000000000001", ""},
	}
	for _, tc := range tests {
		_, err := deb.Versions{}.Compare(tc.v, "1.0")
		want := ""
		if tc.err != "" {
			want = fmt.Sprintf("comparing versions %q and %q: invalid version %q: %s", tc.v, "1.0", tc.v, tc.err)
		}
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("Compare(%q, 1.0): got error %q\nwant error %q", tc.v, got, want)
		}
	}
}

// TestVersionsCompareLongNumbers orders numbers at the longest length
// Compare accepts, where a narrower integer would overflow.
func TestVersionsCompareLongNumbers(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.999999999999999999", "1.999999999999999998", 1},
		{"1.000999999999999999999", "1.999999999999999999", 0},
		{"2147483647:1", "2147483646:2", 1},
	}
	for _, tc := range tests {
		if got, err := (deb.Versions{}).Compare(tc.a, tc.b); err != nil || got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
}
