package patch

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
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
		got := ConfigPlatform([]byte(tc.config), tc.asked)
		if (got == nil) != (tc.want == "") || got != nil && platforms.FormatAll(*got) != tc.want {
			t.Errorf("ConfigPlatform(%s, %s) = %v, want %q", tc.config, platforms.FormatAll(tc.asked), got, tc.want)
		}
	}
}

func TestUniquePlatforms(t *testing.T) {
	v6 := ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	found := []*ocispecs.Platform{&amd64, nil, &v6, &armv7, &arm64v8}
	configs := []digest.Digest{"sha256:a", "", "sha256:b", "sha256:b", "sha256:c"}
	if got := formatPlatforms(UniquePlatforms(found, configs)); !slices.Equal(got, []string{"linux/amd64", "linux/arm/v6", "linux/arm64"}) {
		t.Errorf("unique platforms %v: v7 answered with v6's config is v6", got)
	}
}

func TestProbeListAddsRequested(t *testing.T) {
	got := formatPlatforms(ProbeList([]ocispecs.Platform{amd64, {OS: "linux", Architecture: "mips"}}))
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
			ts, err := SelectTargets(listed, tc.requested)
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
	rep := func(file, arch, variant string) NamedReport {
		return NamedReport{File: file, Report: report.Report{Architecture: arch, Variant: variant}}
	}
	amdR, armR, noArch := rep("a.json", "amd64", ""), rep("b.json", "arm64", ""), rep("c.json", "", "")
	for _, tc := range []struct {
		name    string
		reports []NamedReport
		pls     []ocispecs.Platform
		want    map[string]string
		err     string
	}{
		{name: "lone report, lone platform", reports: []NamedReport{noArch}, pls: []ocispecs.Platform{amd64}, want: map[string]string{"linux/amd64": "c.json"}},
		{name: "by architecture, not by name", reports: []NamedReport{armR, amdR}, pls: []ocispecs.Platform{amd64, arm64v8}, want: map[string]string{"linux/amd64": "a.json", "linux/arm64": "b.json"}},
		{name: "aarch64 is arm64", reports: []NamedReport{amdR, rep("x.json", "aarch64", "")}, pls: []ocispecs.Platform{arm64v8}, want: map[string]string{"linux/arm64": "x.json"}},
		{name: "extra reports are fine", reports: []NamedReport{amdR, armR}, pls: []ocispecs.Platform{amd64}, want: map[string]string{"linux/amd64": "a.json"}},
		{name: "arm variants", reports: []NamedReport{rep("v6.json", "arm", "v6"), rep("v7.json", "arm", "v7")}, pls: []ocispecs.Platform{armv7}, want: map[string]string{"linux/arm/v7": "v7.json"}},
		{name: "lone report, two platforms", reports: []NamedReport{amdR}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "no report for linux/arm64 among a.json (amd64)"},
		{name: "no architecture recorded", reports: []NamedReport{noArch, armR}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "c.json (no architecture recorded)"},
		{name: "two for one", reports: []NamedReport{amdR, rep("d.json", "amd64", "")}, pls: []ocispecs.Platform{amd64, arm64v8}, err: "more than one report for linux/amd64: a.json, d.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AssignReports(tc.reports, tc.pls)
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
