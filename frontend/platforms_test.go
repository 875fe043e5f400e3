package frontend

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/patch"
)

// newIndexFake serves testIndex: an amd64 and an arm64 image.
func newIndexFake(opts map[string]string) *fakeClient {
	f := newFake(opts)
	f.index = "amd64,arm64"
	f.configs = map[string]string{
		"amd64": testConfig,
		"arm64": strings.Replace(testConfig, `"architecture":"amd64"`, `"architecture":"arm64","variant":"v8"`, 1),
	}
	f.reports = map[string]string{
		"reports/x86.json":  strings.Replace(testReport, `"Metadata":{`, `"Metadata":{"ImageConfig":{"architecture":"amd64"},`, 1),
		"reports/arm.json":  strings.Replace(testReport, `"Metadata":{`, `"Metadata":{"ImageConfig":{"architecture":"arm64"},`, 1),
		"reports/notes.txt": "not a report",
	}
	return f
}

func TestBuildIndexPatchesEveryPlatform(t *testing.T) {
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports"})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	exp := exportPlatforms(t, res)
	if want := []string{"linux/amd64", "linux/arm64/v8"}; !slices.Equal(exp, want) {
		t.Errorf("exported platforms %v, want %v (index order, variants kept)", exp, want)
	}
	for _, id := range exp {
		if _, ok := res.Refs[id]; !ok {
			t.Errorf("no ref for %s", id)
		}
		var cfg ocispecs.Image
		if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey+"/"+id], &cfg); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(cfg.History) != 2 || cfg.Config.Labels[patch.KeyOriginalName] != "debian:12" {
			t.Errorf("%s: config is not patched: %+v", id, cfg)
		}
		if !strings.HasPrefix(id, "linux/"+cfg.Architecture) {
			t.Errorf("%s: config architecture %s", id, cfg.Architecture)
		}
	}
	sums := summaries(t, res)
	if len(sums) != 2 || sums[0].Kept || sums[1].Kept || len(sums[0].Changes) == 0 || len(sums[1].Changes) == 0 {
		t.Errorf("want both platforms patched, got %+v", sums)
	}
	if n := countSolved(f, "exec"); n != 2 {
		t.Errorf("%d upgrades ran, want one per platform", n)
	}
}

func TestBuildIndexKeepsUnrequestedPlatforms(t *testing.T) {
	// One report for one platform: the other platform needs none.
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports/x86.json", "platform": "linux/amd64"})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if got := exportPlatforms(t, res); len(got) != 2 {
		t.Fatalf("exported %v, want both platforms of the index", got)
	}
	kept := res.Metadata[exptypes.ExporterImageConfigKey+"/linux/arm64/v8"]
	if string(kept) != f.configs["arm64"] {
		t.Errorf("kept config changed:\n%s\nwant the registry's bytes:\n%s", kept, f.configs["arm64"])
	}
	if _, ok := res.Metadata[exptypes.ExporterImageBaseConfigKey+"/linux/arm64/v8"]; ok {
		t.Error("a kept platform must not carry a base config")
	}
	sums := summaries(t, res)
	if len(sums) != 2 || sums[0].Kept || !sums[1].Kept || sums[1].Platform != "linux/arm64/v8" {
		t.Errorf("want amd64 patched and arm64 kept, got %+v", sums)
	}
	if n := countSolved(f, "exec"); n != 1 {
		t.Errorf("%d upgrades ran, want only amd64's", n)
	}
}

func TestBuildIndexErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]string
		err  string
	}{
		{name: "a lone report for two platforms", opts: map[string]string{"report": "reports/x86.json"}, err: "no report for linux/arm64 among reports/x86.json (amd64)"},
		{name: "a platform the index lacks", opts: map[string]string{"report": "reports", "platform": "linux/s390x"}, err: "image debian:12 has no platform linux/s390x; it has linux/amd64, linux/arm64"},
		{name: "a report of the other platform", opts: map[string]string{"report": "reports/arm.json", "platform": "linux/amd64"}, err: "report reports/arm.json is for arm64, the image is linux/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := map[string]string{"image": "debian:12", "context:report": "local:report"}
			maps.Copy(opts, tc.opts)
			f := newIndexFake(opts)
			_, err := Build(t.Context(), f)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if n := countSolved(f, "exec"); n != 0 {
				t.Errorf("%d upgrades ran before the error", n)
			}
		})
	}
}

func TestPlanIndexListsKeptPlatforms(t *testing.T) {
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports", "platform": "linux/arm64", "requestid": patch.RequestPlan})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	txt := string(res.Metadata["result.txt"])
	if !strings.Contains(txt, "linux/amd64 docker.io/library/debian:12: kept as it is") || !strings.Contains(txt, "linux/arm64 (debian 12)") {
		t.Errorf("plan text:\n%s", txt)
	}
}

// exportPlatforms returns the result's platform IDs in export order.
func exportPlatforms(t *testing.T, res *gwclient.Result) []string {
	t.Helper()
	var ps exptypes.Platforms
	if err := json.Unmarshal(res.Metadata[exptypes.ExporterPlatformsKey], &ps); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range ps.Platforms {
		ids = append(ids, p.ID)
	}
	return ids
}

// countSolved counts the solved definitions of a head kind.
func countSolved(f *fakeClient, kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, d := range f.solved {
		if solvedKind(d) == kind {
			n++
		}
	}
	return n
}

// patched-only (the plugin's --load) leaves the kept platforms out: one
// patched platform is a single image again.
func TestBuildIndexPatchedOnly(t *testing.T) {
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports/arm.json", "platform": "linux/arm64", patch.KeyPatchedOnly: "true"})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref == nil || len(res.Refs) != 0 {
		t.Fatalf("want a single-platform result, got refs %v", res.Refs)
	}
	var cfg ocispecs.Image
	if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &cfg); err != nil || cfg.Architecture != "arm64" {
		t.Errorf("config %+v (%v), want the patched arm64 image", cfg.Platform, err)
	}
	if sums := summaries(t, res); len(sums) != 1 || sums[0].Kept {
		t.Errorf("summaries %+v", sums)
	}
}
