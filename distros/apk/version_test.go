package apk

import "testing"

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0-r0", "1.0-r2", -1},
		{"1.0-r10", "1.0-r9", 1},
		{"2.3_rc1-r0", "2.3-r0", -1},
		{"2.3_p1-r0", "2.3-r0", 1},
		{"2.3_alpha-r0", "2.3_beta-r0", -1},
		{"1.1.1k-r0", "1.1.1j-r5", 1},
		{"1.2.3-r0", "1.2.3-r0", 0},
		{"1.10-r0", "1.9-r0", 1},
		{"3.0.15-r0", "3.0.8-r0", 1},
	} {
		got, err := Versions{}.Compare(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1.0 r0", "1.0\n", "1.0-r0é"} {
		if _, err := (Versions{}).Compare(bad, "1.0-r0"); err == nil {
			t.Errorf("Compare(%q) gave no error", bad)
		}
	}
}

func FuzzCompare(f *testing.F) {
	for _, s := range []string{"1.0-r0", "2.3_rc1-r0", "1.1.1k-r0", "0", "1_p1_p2", "9999999999999999999999"} {
		f.Add(s, "1.0-r1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, err1 := Versions{}.Compare(a, b)
		ba, err2 := Versions{}.Compare(b, a)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if err1 == nil && ab != -ba {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
	})
}

func FuzzParseDatabase(f *testing.F) {
	f.Add([]byte("P:a\nV:1.0-r0\nA:x86_64\nF:usr\nR:x\nZ:Q1abc=\n\nP:b\nV:2\n"))
	f.Add([]byte("This is a corrupt db\n\nP:x\n"))
	f.Fuzz(func(t *testing.T, dt []byte) {
		entries, err := ParseDatabase(dt)
		if err != nil {
			return
		}
		// Records without a name or version are kept for the rewrite but
		// are no packages; named ones are unique with valid versions.
		seen := map[string]bool{}
		for _, p := range Packages(entries) {
			if _, err := parseVersion(p.Version); p.Name == "" || err != nil || seen[p.Name] {
				t.Fatalf("accepted a bad package %+v", p)
			}
			seen[p.Name] = true
		}
	})
}

func FuzzParseUpgradable(f *testing.F) {
	f.Add([]byte("darn-libfoo 1.1-r0\nmusl 1.2.5-r1\n"))
	f.Fuzz(func(t *testing.T, dt []byte) {
		m, err := Family{}.ParseUpgradable(dt)
		if err != nil {
			return
		}
		for n, v := range m {
			if !NameRE.MatchString(n) {
				t.Fatalf("accepted name %q", n)
			}
			if _, err := parseVersion(v); err != nil {
				t.Fatalf("accepted version %q", v)
			}
		}
	})
}
