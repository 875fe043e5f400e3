package rpm

import (
	"testing"
)

// rpm's version order is a total preorder on what checkVersion accepts:
// reflexive, antisymmetric, transitive.
func FuzzVersionsCompare(f *testing.F) {
	for _, s := range [][3]string{{"1.0-1", "1.0-2", "1:0.1-1"}, {"1.0~rc1-1", "1.0^git1-1", "1.0-1.el9"}, {"2", "10", "a"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		v := Versions{}
		ab, err1 := v.Compare(a, b)
		ba, err2 := v.Compare(b, a)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Compare(%q, %q) and back disagree on validity", a, b)
		}
		if err1 != nil {
			return
		}
		if aa, _ := v.Compare(a, a); aa != 0 {
			t.Fatalf("Compare(%q, %q) = %d", a, a, aa)
		}
		if ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		bc, err := v.Compare(b, c)
		if err != nil {
			return
		}
		if ac, _ := v.Compare(a, c); ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("%q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
	})
}

// The container manifest parser never panics, and what it accepts has
// valid versions.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("vim\t9.0-1.cm2\t1\t1\tMicrosoft Corporation\t2\t45000\tx86_64\t2\tvim-9.0-1.cm2.src.rpm\n"))
	f.Add([]byte("a\tb\n\n\t\t\t\t\t\t\t\t\t\n"))
	f.Fuzz(func(t *testing.T, dt []byte) {
		pkgs, err := ParseManifest(dt)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if checkVersion(p.Version) != nil || p.Name == "" {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}

// The listing of what repositories offer (every manager's form, zypper's
// XML included) never panics, and what it accepts are valid versions.
func FuzzParseAvailable(f *testing.F) {
	f.Add([]byte("manager dnf\ndarn-libfoo 0:1.0-2 x86_64\ndarn-libfoo 0:1.0-3 x86_64\n"))
	f.Add([]byte("manager yum\nAvailable Packages\ndarn-libfoo.x86_64   1.0-2   darn-test\n"))
	f.Add([]byte("manager tdnf\ndarn-libfoo.x86_64   1:1.0-2.azl3   darn-test\n"))
	f.Add([]byte("manager microdnf\ndarn-libfoo-1:1.0-2.x86_64\n"))
	f.Add([]byte(`manager zypper
<?xml version='1.0'?><stream><search-result><solvable-list><solvable status="not-installed" name="darn-libfoo" kind="package" edition="1.0-2" arch="x86_64" repository="darn-test"/></solvable-list></search-result></stream>
`))
	f.Fuzz(func(t *testing.T, dt []byte) {
		got, err := parseAvailable(dt)
		if err != nil {
			return
		}
		for name, versions := range got {
			for _, v := range versions {
				if name == "" || checkVersion(v) != nil {
					t.Fatalf("accepted %q %q", name, v)
				}
			}
		}
	})
}
