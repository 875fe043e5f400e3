package report

import (
	"reflect"
	"testing"
)

// TestParseDuplicates parses reports that list one vulnerability 40,000
// times with 20,000 distinct fixed versions, and checks that they fold
// into one entry whose fixed versions keep the order of first appearance.
func TestParseDuplicates(t *testing.T) {
	n := duplicateEntries
	wantFixes := duplicateFixes(n)[:n/2]
	for name, dt := range map[string][]byte{
		"trivy": trivyDuplicates(t, n),
		"grype": grypeDuplicates(t, n),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Parse(dt)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Packages) != 1 || len(r.Packages[0].Vulnerabilities) != 1 {
				t.Fatalf("got %d packages (%+v), want libssl3 with one vulnerability", len(r.Packages), r.Packages)
			}
			p := r.Packages[0]
			v := p.Vulnerabilities[0]
			if p.Name != "libssl3" || p.InstalledVersion != "3.0.0-1" || v.ID != "CVE-2024-0001" || v.Status != "fixed" {
				t.Errorf("got %s %s %s %s, want libssl3 3.0.0-1 CVE-2024-0001 fixed", p.Name, p.InstalledVersion, v.ID, v.Status)
			}
			if !reflect.DeepEqual(v.FixedVersions, wantFixes) {
				t.Errorf("got %d fixed versions, want %d in order of first appearance", len(v.FixedVersions), len(wantFixes))
			}
		})
	}
}

func TestMergeVulns(t *testing.T) {
	tests := []struct {
		name string
		in   []Vulnerability
		want []Vulnerability
	}{
		{"empty", nil, nil},
		{"sorted by ID", []Vulnerability{{ID: "CVE-2"}, {ID: "CVE-1"}}, []Vulnerability{{ID: "CVE-1"}, {ID: "CVE-2"}}},
		{
			name: "fixed versions united in order first seen, first status kept",
			in: []Vulnerability{
				{ID: "CVE-1", FixedVersions: []string{"2", "1"}},
				{ID: "CVE-2", Status: "affected"},
				{ID: "CVE-1", FixedVersions: []string{"3", "1"}, Status: "fixed"},
				{ID: "CVE-1", FixedVersions: []string{"2", "4"}, Status: "unknown"},
			},
			want: []Vulnerability{
				{ID: "CVE-1", FixedVersions: []string{"2", "1", "3", "4"}, Status: "fixed"},
				{ID: "CVE-2", Status: "affected"},
			},
		},
		{
			// Trivy's "1.0, 1.0" is kept as written when the ID is
			// listed once, as it always was; only merging checks.
			name: "repeats within the first entry kept",
			in:   []Vulnerability{{ID: "CVE-1", FixedVersions: []string{"1", "1"}}, {ID: "CVE-1", FixedVersions: []string{"1", "2"}}},
			want: []Vulnerability{{ID: "CVE-1", FixedVersions: []string{"1", "1", "2"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeVulns(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestOrderedSet adds past scanLimit, where the set switches from
// scanning to a map, and checks that nothing is lost or repeated across
// the switch.
func TestOrderedSet(t *testing.T) {
	var want []string
	var s orderedSet
	for i := range 3 * scanLimit {
		v := string(rune('A' + i))
		s.add(v)
		s.add(v)
		want = append(want, v)
		for _, old := range want {
			s.add(old)
		}
	}
	if !reflect.DeepEqual(s.list, want) {
		t.Errorf("got %q\nwant %q", s.list, want)
	}
}
