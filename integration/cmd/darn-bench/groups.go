package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/moby/buildkit/client/llb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/integration/testreport"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/policy"
)

// amd64 is the platform the bed's single-platform images are read as.
const amd64 = "linux/amd64"

// inputs are derived once per run: the security updates the test image's
// sources offer (an apt run in the image), as the integration tests
// derive their report.
type inputs struct {
	cands []testreport.Candidate
	rel   distros.Release
}

// testInputs lists the test image's pending security updates, once.
func (b *bench) testInputs(ctx context.Context) ([]testreport.Candidate, distros.Release, error) {
	if b.inputs.cands != nil {
		return b.inputs.cands, b.inputs.rel, nil
	}
	cands, rel, err := testreport.Upgradable(ctx, b.c, b.bed.Test)
	if err != nil {
		return nil, rel, err
	}
	if len(cands) == 0 {
		return nil, rel, fmt.Errorf("%s has no pending security update: the bench needs one to patch", b.bed.Test)
	}
	b.inputs = inputs{cands: cands, rel: rel}
	return cands, rel, nil
}

// imageJob is a patch of image from one report, pushed to the group's tag.
func (b *bench) imageJob(group, image string, report []byte) (patchJob, error) {
	img, err := patch.ParseImage(image)
	if err != nil {
		return patchJob{}, err
	}
	job := patchJob{Options: patch.Options{Image: img}, Tag: b.bed.tag(group, "patched")}
	if report != nil {
		job.Reports = map[string][]byte{patch.DefaultReportFile: report}
	}
	return job, nil
}

// changesOf lists every package darn changed on any platform.
func changesOf(sums []patch.Summary) []plan.Change {
	var out []plan.Change
	for _, s := range sums {
		out = append(out, s.Changes...)
	}
	return out
}

// debian is the test image patched from its report, and its apt floor.
func (b *bench) debian(ctx context.Context) error {
	cands, rel, err := b.testInputs(ctx)
	if err != nil {
		return err
	}
	rep, err := testreport.TrivyJSON(b.bed.Test, rel, cands)
	if err != nil {
		return err
	}
	job, err := b.imageJob("debian", b.bed.Test, rep)
	if err != nil {
		return err
	}
	return b.runSeries(ctx, series{
		Group: "debian", Job: job, Kind: aptInImage, Original: b.bed.Test, Platform: amd64,
		Floor: func(s []patch.Summary) (llb.State, error) {
			return aptFloor(b.bed.Test, aptSpecs(changesOf(s))), nil
		},
		FloorKind: floorApt, ColdTarget: "ratio<=1.3",
	})
}

// updateAll is the test image in update-all mode, and the apt floor of
// the same packages.
func (b *bench) updateAll(ctx context.Context) error {
	job, err := b.imageJob("update-all", b.bed.Test, nil)
	if err != nil {
		return err
	}
	job.Options.UpdateAll = true
	return b.runSeries(ctx, series{
		Group: "update-all", Job: job, Kind: aptInImage, Original: b.bed.Test, Platform: amd64,
		Floor: func(s []patch.Summary) (llb.State, error) {
			return aptFloor(b.bed.Test, aptSpecs(changesOf(s))), nil
		},
		FloorKind: floorApt, ColdTarget: "ratio<=1.3",
	})
}

// distroless is the distroless image patched through the tooling image,
// reached only through a source policy that maps darn's default tooling
// image for the release to the bed's, as integration/distroless_test.go
// does; its floor unpacks the same packages from the same tooling image.
func (b *bench) distroless(ctx context.Context) error {
	cands, rel, err := b.testInputs(ctx)
	if err != nil {
		return err
	}
	var mine []testreport.Candidate
	for _, c := range cands {
		if b.bed.DistrolessPackages[c.Name] {
			mine = append(mine, c)
		}
	}
	rep, err := testreport.TrivyJSON(b.bed.Distroless, rel, mine)
	if err != nil {
		return err
	}
	job, err := b.imageJob("distroless", b.bed.Distroless, rep)
	if err != nil {
		return err
	}
	if job.Policy, err = b.toolingPolicy(rel); err != nil {
		return err
	}
	return b.runSeries(ctx, series{
		Group: "distroless", Job: job, Kind: aptTooling, Original: b.bed.Distroless, Platform: amd64,
		Floor: func(s []patch.Summary) (llb.State, error) {
			return unpackFloor(b.bed.Tooling, b.bed.Distroless, aptSpecs(changesOf(s))), nil
		},
		FloorKind: floorUnpack, ColdTarget: "ratio<=1.5",
	})
}

// toolingPolicy maps the release's default tooling image, as darn names
// it, to the bed's tooling image.
func (b *bench) toolingPolicy(rel distros.Release) (*spb.Policy, error) {
	def, ok := deb.Family{}.Tooling(rel)
	if !ok {
		return nil, fmt.Errorf("darn has no default tooling image for %s %s", rel.ID, rel.VersionID)
	}
	rule := fmt.Sprintf(`{"rules":[{"action":"CONVERT","selector":{"identifier":"docker-image://%s"},"updates":{"identifier":"docker-image://%s"}}]}`, def, b.bed.Tooling)
	return policy.ParseSourcePolicy([]byte(rule), "darn-bench tooling policy")
}

// fixes turns the bed's NAME=VERSION lists into report entries.
func fixes(installed, fixed map[string]string) []testreport.Fix {
	var out []testreport.Fix
	for _, name := range slices.Sorted(maps.Keys(fixed)) {
		out = append(out, testreport.Fix{Name: name, Installed: installed[name], Fixed: fixed[name], ID: "DARN-BENCH-" + name})
	}
	return out
}

// rpm is the bed's dnf image patched from a Trivy report of the bed's
// advisories; its floor is dnf installing the same packages.
func (b *bench) rpm(ctx context.Context) error {
	rep, err := testreport.TrivyRPM(b.bed.RPM, distros.Release{ID: "rocky", VersionID: "9.4"}, fixes(b.bed.RPMInstalled, b.bed.RPMFixes))
	if err != nil {
		return err
	}
	job, err := b.imageJob("rpm", b.bed.RPM, rep)
	if err != nil {
		return err
	}
	return b.runSeries(ctx, series{
		Group: "rpm", Job: job, Kind: rpmInImage, Original: b.bed.RPM, Platform: amd64,
		Floor: func(s []patch.Summary) (llb.State, error) {
			return rpmFloor(b.bed.RPM, rpmSpecs(changesOf(s))), nil
		},
		FloorKind: floorRPM, ColdTarget: "ratio<=1.3",
	})
}

// apk is the bed's Alpine-shaped image patched from a Grype report
// through darn's own image as the tooling image (option tooling-image).
// It has no floor: darn's installer is the only apk tool the image can
// be patched with.
func (b *bench) apk(ctx context.Context) error {
	rep, err := testreport.GrypeAPK(b.bed.APK, "", distros.Release{ID: "alpine", VersionID: "3.20.3"}, fixes(b.bed.APKInstalled, b.bed.APKFixes))
	if err != nil {
		return err
	}
	job, err := b.imageJob("apk", b.bed.APK, rep)
	if err != nil {
		return err
	}
	if job.Options.ToolingImage, err = patch.ParseImage(b.bed.Frontend); err != nil {
		return err
	}
	return b.runSeries(ctx, series{Group: "apk", Job: job, Kind: apkTooling, Original: b.bed.APK, Platform: amd64})
}
