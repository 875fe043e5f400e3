package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// duplicateEntries is the size of the synthetic reports below: one
// vulnerability of one package listed this many times, the shape that made
// de-duplicating fixed versions quadratic.
const duplicateEntries = 40_000

// duplicateFixes returns the fixed version of entry i in the synthetic
// reports: every version is listed twice, so the parser both keeps and
// drops versions, and n/2 distinct versions survive, in order of first
// appearance.
func duplicateFixes(n int) []string {
	fixes := make([]string, n)
	for i := range fixes {
		fixes[i] = fmt.Sprintf("3.0.%d-1", i%(n/2))
	}
	return fixes
}

// trivyDuplicates is a SchemaVersion 2 Trivy report listing one
// vulnerability of libssl3 n times, each with a fixed version from
// duplicateFixes.
func trivyDuplicates(tb testing.TB, n int) []byte {
	tb.Helper()
	vulns := make([]trivyVuln, n)
	for i, f := range duplicateFixes(n) {
		vulns[i] = trivyVuln{
			VulnerabilityID: "CVE-2024-0001", PkgName: "libssl3",
			InstalledVersion: "3.0.0-1", FixedVersion: f, Status: "fixed",
		}
	}
	return mustMarshal(tb, map[string]any{
		"SchemaVersion": 2,
		"ArtifactName":  "debian:12",
		"Results": []map[string]any{{
			"Target": "debian:12 (debian 12.5)", "Class": "os-pkgs", "Type": "debian",
			"Vulnerabilities": vulns,
		}},
	})
}

// grypeDuplicates is a Grype report with n matches of one vulnerability of
// libssl3, each with a fixed version from duplicateFixes.
func grypeDuplicates(tb testing.TB, n int) []byte {
	tb.Helper()
	matches := make([]map[string]any, n)
	for i, f := range duplicateFixes(n) {
		matches[i] = map[string]any{
			"vulnerability": map[string]any{
				"id":  "CVE-2024-0001",
				"fix": map[string]any{"versions": []string{f}, "state": "fixed"},
			},
			"artifact": map[string]any{"name": "libssl3", "version": "3.0.0-1", "type": "deb"},
		}
	}
	return mustMarshal(tb, map[string]any{
		"matches": matches,
		"source":  map[string]any{"type": "image", "target": map[string]any{"userInput": "debian:12"}},
		"distro":  map[string]any{"name": "debian", "version": "12"},
	})
}

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return dt
}

// largestCorpusFile returns the biggest file in a corpus folder, or skips
// when the shared corpus is not beside the clone.
func largestCorpusFile(b *testing.B, dir string) []byte {
	b.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		b.Skipf("corpus not found at %s", dir)
	}
	if err != nil {
		b.Fatal(err)
	}
	var name string
	var size int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Size() > size {
			name, size = e.Name(), info.Size()
		}
	}
	if name == "" {
		b.Skipf("no file in %s", dir)
	}
	dt, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	return dt
}

// BenchmarkParse measures Parse on reports that repeat one entry 40,000
// times and on the largest Trivy and Grype files of the corpus, which it
// skips when the corpus is not beside the clone.
func BenchmarkParse(b *testing.B) {
	inputs := []struct {
		name string
		load func(*testing.B) []byte
	}{
		{"trivy-40k-duplicates", func(b *testing.B) []byte { b.Helper(); return trivyDuplicates(b, duplicateEntries) }},
		{"grype-40k-duplicates", func(b *testing.B) []byte { b.Helper(); return grypeDuplicates(b, duplicateEntries) }},
		{"trivy-corpus-largest", func(b *testing.B) []byte { b.Helper(); return largestCorpusFile(b, trivyCorpus) }},
		{"grype-corpus-largest", func(b *testing.B) []byte { b.Helper(); return largestCorpusFile(b, grypeCorpus) }},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dt := in.load(b)
			b.SetBytes(int64(len(dt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
