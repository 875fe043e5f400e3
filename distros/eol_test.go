package distros

import (
	"strings"
	"testing"
	"time"
)

func TestEOLStatus(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		rel        Release
		eosl       bool
		status     string
		date       string
		msgContain string
	}{
		{Release{ID: "debian", VersionID: "12"}, false, EOLSupported, "2028-06-30", ""},
		{Release{ID: "debian", VersionID: "10"}, false, EOLEnded, "2024-06-30", "security support ended on 2024-06-30"},
		{Release{ID: "alpine", VersionID: "3.21.2"}, false, EOLEnded, "2026-11-01", "end of life"},
		{Release{ID: "alpine", VersionID: "3.22.1"}, false, EOLSupported, "2027-05-01", ""},
		{Release{ID: "fedora", VersionID: "43"}, false, EOLEnded, "2026-12-02", "end of life"},
		{Release{ID: "amzn", VersionID: "2023"}, false, EOLSupported, "2029-06-30", ""},
		{Release{ID: "ubuntu", VersionID: "22.04"}, false, EOLSupported, "2027-06-01", ""},
		{Release{ID: "rocky", VersionID: "9.4"}, false, EOLSupported, "2032-05-31", ""},
		{Release{ID: "wolfi", VersionID: "20230201"}, false, EOLRolling, "", ""},
		{Release{ID: "azurelinux", VersionID: "3.0"}, false, EOLUnknown, "", ""},
		{Release{ID: "azurelinux", VersionID: "3.0"}, true, EOLEnded, "", "the scanner marks it end of life"},
	} {
		got := EOLStatus(tc.rel, now, tc.eosl)
		if got.Status != tc.status || got.Date != tc.date || !strings.Contains(got.Message(tc.rel), tc.msgContain) || (tc.msgContain == "" && got.Message(tc.rel) != "") {
			t.Errorf("%+v: %+v %q", tc.rel, got, got.Message(tc.rel))
		}
	}
	// 90 days ahead: a warning.
	soon := EOLStatus(Release{ID: "debian", VersionID: "11"}, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), false)
	if soon.Status != EOLSoon || !strings.Contains(soon.Message(Release{ID: "debian", VersionID: "11"}), "reaches its end of life on 2026-08-31") {
		t.Errorf("soon: %+v", soon)
	}
	// The last day is still supported.
	if s := EOLStatus(Release{ID: "debian", VersionID: "11"}, time.Date(2026, 8, 31, 23, 0, 0, 0, time.UTC), false); s.Status != EOLSoon {
		t.Errorf("last day: %+v", s)
	}
}

// The table's dates parse, and it names its source and date.
func TestEOLTable(t *testing.T) {
	for _, r := range eolReleases.Releases {
		if _, err := time.Parse(time.DateOnly, r.EOL); err != nil {
			t.Errorf("%s %s: %v", r.ID, r.Version, err)
		}
	}
	if _, err := time.Parse(time.DateOnly, eolReleases.AsOf); err != nil || eolReleases.Source == "" {
		t.Error("the table must name its source and date")
	}
}
