package deb

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// FuzzVersionsCompare checks that Compare is a total order on the versions
// it accepts, as a plan needs: whatever order a report lists fixed
// versions in, the highest must come out the same. Seeds are the versions
// of testdata/versions.txt, three at a time, plus testdata/fuzz.
func FuzzVersionsCompare(f *testing.F) {
	versions := seedVersions(f)
	for i := range versions {
		f.Add(versions[i], versions[(i+1)%len(versions)], versions[(i+2)%len(versions)])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var v Versions
		for _, x := range []string{a, b, c} {
			if got, err := v.Compare(x, x); err == nil && got != 0 {
				t.Fatalf("Compare(%q, %q) = %d, want 0", x, x, got)
			}
		}
		ab, errAB := v.Compare(a, b)
		ba, errBA := v.Compare(b, a)
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("Compare(%q, %q) error %v, but reversed %v", a, b, errAB, errBA)
		}
		if errAB == nil && ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, but reversed %d", a, b, ab, ba)
		}
		bc, errBC := v.Compare(b, c)
		ac, errAC := v.Compare(a, c)
		if errAB != nil || errBC != nil || errAC != nil {
			return
		}
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("%q <= %q <= %q, but Compare(%q, %q) = %d", a, b, c, a, c, ac)
		}
		if ab >= 0 && bc >= 0 && ac < 0 {
			t.Fatalf("%q >= %q >= %q, but Compare(%q, %q) = %d", a, b, c, a, c, ac)
		}
	})
}

// seedVersions returns every version named in testdata/versions.txt,
// valid or not.
func seedVersions(f *testing.F) []string {
	f.Helper()
	file, err := os.Open("testdata/versions.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out []string
	s := bufio.NewScanner(file)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 3 && !strings.HasPrefix(fields[0], "#") {
			out = append(out, strings.ReplaceAll(fields[0], `""`, ""), strings.ReplaceAll(fields[2], `""`, ""))
		}
	}
	if err := s.Err(); err != nil {
		f.Fatal(err)
	}
	return out
}
