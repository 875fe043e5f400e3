package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"reflect"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A phase missing from a run counts as zero there.
func TestMedianPhases(t *testing.T) {
	got := medianPhases([][]phase{{{"a", 1}, {"b", 4}}, {{"a", 3}}, {{"a", 2}, {"b", 6}}})
	want := []phase{{"a", 2}, {"b", 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	r := row{Runs: []float64{13, 12, 14}, FloorRuns: []float64{10}, Target: "ratio<=1.3"}
	r.judge()
	if r.Ratio != 1.3 || r.Verdict != "PASS" {
		t.Errorf("ratio %v verdict %s, want 1.3 PASS", r.Ratio, r.Verdict)
	}
	r = row{Runs: []float64{1.2}, Target: "abs<=1"}
	r.judge()
	if r.Verdict != "ABOVE" {
		t.Errorf("verdict %s, want ABOVE", r.Verdict)
	}
}

func TestParseGoBench(t *testing.T) {
	out := []byte(`goos: linux
pkg: github.com/darn-dev/darn/report
BenchmarkParse/trivy-2         	      10	 100 ns/op	  5.00 MB/s	 64 B/op	   2 allocs/op
BenchmarkParse/trivy-2         	      10	 300 ns/op	  7.00 MB/s	 64 B/op	   2 allocs/op
BenchmarkParse/trivy-2         	      10	 200 ns/op	  6.00 MB/s	 64 B/op	   2 allocs/op
PASS
`)
	rows := parseGoBench(out)
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	r := rows[0]
	r.judge()
	if r.Name != "report Parse/trivy" || r.Median != 200 || r.Detail["MB/s"] != 6.0 || r.Detail["allocs/op"] != 2.0 {
		t.Errorf("got %+v", r)
	}
}

// The upgrade step is split at its log lines; what precedes it is the
// probe, what follows it until the export the read-back.
func TestPhases(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	step := digest.FromString("step")
	tl := newTimeline()
	tl.Start, tl.End = t0, at(10)
	tl.Vertices[step] = &vertex{Digest: step, Name: "[patch linux/amd64] apt-get install a=1 ", Started: at(1), Completed: at(8)}
	exp := digest.FromString("export")
	tl.Vertices[exp] = &vertex{Digest: exp, Name: "exporting to image", Started: at(8.5), Completed: at(10)}
	for _, l := range []struct {
		s    float64
		text string
	}{{2, "Get:1 x"}, {3, "Reading package lists..."}, {3.5, "darn: installing a=1"}, {4, "Fetched 1 kB"}, {7, "Setting up a"}} {
		tl.Lines = append(tl.Lines, logLine{Vertex: step, Time: at(l.s), Text: l.text})
	}
	want := []phase{
		{"probe", 1},
		{"index refresh", 2},
		{"pin", 0.5},
		{"download", 0.5},
		{"install", 3},
		{"clean-up", 1},
		{"read-back", 0.5},
		{"export", 1.5},
	}
	if got := aptInImage.phases(tl); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// layerOf writes a gzip-compressed layer of regular files and whiteouts
// (an empty content is a whiteout of that name).
func layerOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Only changed content reaches the floor: a file rewritten with the
// same bytes does not, a changed one, a new one and a whiteout do.
func TestFloorOf(t *testing.T) {
	before := map[string]fileState{}
	if err := applyLayer(before, layerOf(t, map[string]string{"same": "x", "changed": "old", "gone": "y"})); err != nil {
		t.Fatal(err)
	}
	ls, err := floorOf(before, layerOf(t, map[string]string{"same": "x", "changed": "new", "added": "z", ".wh.gone": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if ls.Entries != 4 || ls.Changed != 3 || ls.Same != 1 || ls.SameFiles[0] != "same" || ls.Floor == 0 {
		t.Errorf("got %+v", ls)
	}
}
