package deb_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/policy"
)

var _ policy.Comparer = deb.Versions{}

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
		if len(fields) != 3 || !strings.Contains("<=>!", fields[1]) {
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
