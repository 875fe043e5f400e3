package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/report"
)

var (
	amd64   = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64v8 = ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	armv7   = ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

func TestConfigPlatform(t *testing.T) {
	for _, tc := range []struct {
		config string
		asked  ocispecs.Platform
		want   string
	}{
		{config: `{"os":"linux","architecture":"amd64"}`, asked: amd64, want: "linux/amd64"},
		{config: `{"os":"linux","architecture":"arm64","variant":"v8"}`, asked: ocispecs.Platform{OS: "linux", Architecture: "arm64"}, want: "linux/arm64/v8"},
		// A config without variant takes the asked one.
		{config: `{"os":"linux","architecture":"arm"}`, asked: armv7, want: "linux/arm/v7"},
		// The resolver's fallbacks are not the platform asked for.
		{config: `{"os":"linux","architecture":"386"}`, asked: amd64},
		{config: `{"os":"linux","architecture":"arm","variant":"v6"}`, asked: armv7},
		{config: `{"os":"linux","architecture":"amd64"}`, asked: ocispecs.Platform{OS: "windows", Architecture: "amd64"}},
		{config: `not json`, asked: amd64},
	} {
		got := configPlatform([]byte(tc.config), tc.asked)
		if (got == nil) != (tc.want == "") || got != nil && platforms.FormatAll(*got) != tc.want {
			t.Errorf("configPlatform(%s, %s) = %v, want %q", tc.config, platforms.FormatAll(tc.asked), got, tc.want)
		}
	}
}

func TestUniquePlatforms(t *testing.T) {
	v6 := ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	found := []*ocispecs.Platform{&amd64, nil, &v6, &armv7, &arm64v8}
	configs := []digest.Digest{"sha256:a", "", "sha256:b", "sha256:b", "sha256:c"}
	if got := formatPlatforms(uniquePlatforms(found, configs)); !slices.Equal(got, []string{"linux/amd64", "linux/arm/v6", "linux/arm64"}) {
		t.Errorf("unique platforms %v: v7 answered with v6's config is v6", got)
	}
}

func TestProbeListAddsRequested(t *testing.T) {
	got := formatPlatforms(probeList([]ocispecs.Platform{amd64, {OS: "linux", Architecture: "mips"}}))
	if !slices.Contains(got, "linux/mips") || slices.Index(got, "linux/arm/v6") > slices.Index(got, "linux/arm/v7") {
		t.Errorf("probe list %v", got)
	}
}

func TestSelectTargets(t *testing.T) {
	listed := []ocispecs.Platform{amd64, arm64v8, armv7}
	for _, tc := range []struct {
		name      string
		requested []ocispecs.Platform
		patched   []bool
		err       string
	}{
		{name: "all by default", patched: []bool{true, true, true}},
		{name: "one", requested: []ocispecs.Platform{amd64}, patched: []bool{true, false, false}},
		{name: "arm64 without variant", requested: []ocispecs.Platform{{OS: "linux", Architecture: "arm64"}}, patched: []bool{false, true, false}},
		{name: "two", requested: []ocispecs.Platform{armv7, amd64}, patched: []bool{true, false, true}},
		{name: "missing", requested: []ocispecs.Platform{{OS: "linux", Architecture: "s390x"}}, err: "has no platform linux/s390x; it has linux/amd64, linux/arm64, linux/arm/v7"},
		{name: "arm v6 is not v7", requested: []ocispecs.Platform{{OS: "linux", Architecture: "arm", Variant: "v6"}}, err: "no platform linux/arm/v6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := selectTargets(listed, tc.requested)
			if tc.err != "" {
				if _, ok := errors.AsType[*PlatformError](err); !ok || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want a PlatformError with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, tg := range ts {
				if tg.Patch != tc.patched[i] || tg.Platform.Architecture != listed[i].Architecture {
					t.Errorf("target %d = %+v, want patch=%v", i, tg, tc.patched[i])
				}
			}
		})
	}
}

func TestAssignReports(t *testing.T) {
	rep := func(file, arch, variant string) namedReport {
		return namedReport{File: file, Report: report.Report{Architecture: arch, Variant: variant}}
	}
	amdR, armR, noArch := rep("a.json", "amd64", ""), rep("b.json", "arm64", ""), rep("c.json", "", "")
	for _, tc := range []struct {
		name    string
		reports []namedReport
		pls     []ocispecs.Platform
		want    map[string]string
		err     string
	}{
		{name: "lone report, lone platform", reports: []namedReport{noArch}, pls: []ocispecs.Platform{amd64}, want: map[string]string{"linux/amd64": "c.json"}},
		{name: "by architecture, not by name", reports: []namedReport{armR, amdR}, pls: []ocispecs.Platform{amd64, arm64v8}, want: map[string]string{"linux/amd64": "a.json", "linux/arm64": "b.json"}},
		{name: "aarch64 is arm64", reports: []namedReport{amdR, rep("x.json", "aarch64", "")}, pls: []ocispecs.Platform{arm64v8}, want: map[string]string{"linux/arm64": "x.json"}},
		{name: "extra reports are fine", reports: []namedReport{amdR, armR}, pls: []ocispecs.Platform{amd64}, want: map[string]string{"linux/amd64": "a.json"}},
		{name: "arm variants", reports: []namedReport{rep("v6.json", "arm", "v6"), rep("v7.json", "arm", "v7")}, pls: []ocispecs.Platform{armv7}, want: map[string]string{"linux/arm/v7": "v7.json"}},
		{name: "lone report, two platforms", reports: []namedReport{amdR}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "no report for linux/arm64 among a.json (amd64)"},
		{name: "no architecture recorded", reports: []namedReport{noArch, armR}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "c.json (no architecture recorded)"},
		{name: "two for one", reports: []namedReport{amdR, rep("d.json", "amd64", "")}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "more than one report for linux/amd64: a.json, d.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := assignReports(tc.reports, tc.pls)
			if tc.err != "" {
				if _, ok := errors.AsType[*ReportMatchError](err); !ok || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want a ReportMatchError with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for k, r := range got {
				files[k] = r.File
			}
			if !maps.Equal(files, tc.want) {
				t.Errorf("assigned %v, want %v", files, tc.want)
			}
		})
	}
}

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
	res, err := Build(context.Background(), f)
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
		if len(cfg.History) != 2 || cfg.Config.Labels[labelBaseName] != "debian:12" {
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
	res, err := Build(context.Background(), f)
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
			_, err := Build(context.Background(), f)
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
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports", "platform": "linux/arm64", "requestid": planRequest.Name})
	res, err := Build(context.Background(), f)
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
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports/arm.json", "platform": "linux/arm64", keyPatchedOnly: "true"})
	res, err := Build(context.Background(), f)
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
