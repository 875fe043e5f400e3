package integration

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/integration/testreport"
	"github.com/darn-dev/darn/patch"
)

// assertOneLayerAdded checks the patched image is the original layers,
// byte-identical, plus exactly one.
func assertOneLayerAdded(t *testing.T, orig, patched registryImage) {
	t.Helper()
	if got, want := len(patched.Manifest.Layers), len(orig.Manifest.Layers)+1; got != want {
		t.Fatalf("patched image has %d layers, want %d (original + 1)", got, want)
	}
	for i, l := range orig.Manifest.Layers {
		if patched.Manifest.Layers[i].Digest != l.Digest {
			t.Errorf("layer %d changed: %s -> %s", i, l.Digest, patched.Manifest.Layers[i].Digest)
		}
	}
	if got, want := len(patched.Config.RootFS.DiffIDs), len(orig.Config.RootFS.DiffIDs)+1; got != want {
		t.Errorf("rootfs has %d diff ids, want %d", got, want)
	}
}

// assertConfigPreserved checks every user-visible config field of the
// Debian test images (whose config sets them all) survived, and that the
// patch is recorded in history, base labels untouched.
func assertConfigPreserved(t *testing.T, orig, patched registryImage) {
	t.Helper()
	if oc := orig.Config.Config; oc.User == "" || len(oc.ExposedPorts) == 0 || oc.Healthcheck == nil {
		t.Errorf("test image config is too thin to prove anything: %s", jsonString(oc))
	}
	assertConfigKept(t, orig, patched)
}

// assertConfigKept checks every user-visible config field survived, and
// that the patch is recorded in history, base labels untouched.
func assertConfigKept(t *testing.T, orig, patched registryImage) {
	t.Helper()
	o, p := orig.Config, patched.Config
	if o.Architecture != p.Architecture || o.OS != p.OS || o.Variant != p.Variant {
		t.Errorf("platform changed: %s/%s/%s -> %s/%s/%s", o.OS, o.Architecture, o.Variant, p.OS, p.Architecture, p.Variant)
	}
	oc, pc := o.Config, p.Config
	fields := map[string][2]any{
		"Entrypoint":   {oc.Entrypoint, pc.Entrypoint},
		"Cmd":          {oc.Cmd, pc.Cmd},
		"Env":          {oc.Env, pc.Env},
		"User":         {oc.User, pc.User},
		"WorkingDir":   {oc.WorkingDir, pc.WorkingDir},
		"ExposedPorts": {oc.ExposedPorts, pc.ExposedPorts},
		"Volumes":      {oc.Volumes, pc.Volumes},
		"StopSignal":   {oc.StopSignal, pc.StopSignal},
		"Healthcheck":  {oc.Healthcheck, pc.Healthcheck},
	}
	for name, v := range fields {
		if !reflect.DeepEqual(v[0], v[1]) {
			t.Errorf("config %s changed: %v -> %v", name, jsonString(v[0]), jsonString(v[1]))
		}
	}
	for k, v := range oc.Labels {
		// darn's own lineage is darn's to rewrite; every other label, the
		// image-spec's base-image labels included, stays.
		if strings.HasPrefix(k, "dev.darn.") {
			continue
		}
		if pc.Labels[k] != v {
			t.Errorf("label %s changed: %q -> %q", k, v, pc.Labels[k])
		}
	}
	for _, k := range []string{"org.opencontainers.image.base.name", "org.opencontainers.image.base.digest"} {
		if pc.Labels[k] != oc.Labels[k] {
			t.Errorf("darn set the base-image label %s: %q -> %q", k, oc.Labels[k], pc.Labels[k])
		}
	}
	if got, want := len(p.History), len(o.History)+1; got != want {
		t.Fatalf("history has %d entries, want %d", got, want)
	}
	if last := p.History[len(p.History)-1]; !strings.HasPrefix(last.CreatedBy, "darn patch: ") || last.EmptyLayer {
		t.Errorf("last history entry does not record the patch: %+v", last)
	}
}

// forbidden matches what must never reach the patch layer: apt indexes and
// archives, logs, dpkg/debconf backups and darn's own mounts.
var forbidden = regexp.MustCompile(`^(var/lib/apt/lists/.+|var/cache/apt/.+|.*\.deb|var/log/apt/.+|var/log/dpkg\.log|var/log/alternatives\.log|var/lib/dpkg/[^/]*-old|var/cache/debconf/[^/]*-old|run/darn(/.*)?|tmp/.+)$`)

// assertLayerClean checks the new layer holds no index, cache, log or
// backup file.
func assertLayerClean(t *testing.T, patched registryImage) {
	t.Helper()
	entries := patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false })
	var bad []string
	for _, e := range entries {
		if forbidden.MatchString(strings.TrimSuffix(e.Name, "/")) {
			bad = append(bad, e.Name)
		}
	}
	if len(bad) > 0 {
		t.Errorf("patch layer holds %d forbidden entries, e.g. %v", len(bad), bad[:min(len(bad), 10)])
	}
	t.Logf("patch layer: %d entries", len(entries))
}

// assertPackages reads the dpkg databases back from the registry bytes:
// every reported package reached its fixed version, nothing else changed.
func assertPackages(t *testing.T, orig, patched registryImage, cands []testreport.Candidate) {
	t.Helper()
	before := installed(t, orig.fileFromLayers(t, "var/lib/dpkg/status"))
	after := installed(t, patched.fileFromLayers(t, "var/lib/dpkg/status"))
	want := map[string]string{}
	for _, c := range cands {
		want[c.Name] = c.Candidate
	}
	cmp := deb.Versions{}
	for name, fixed := range want {
		if c, err := cmp.Compare(after[name], fixed); err != nil || c < 0 {
			t.Errorf("%s: patched image has %q, want >= %s (%v)", name, after[name], fixed, err)
		}
	}
	for name, v := range before {
		if _, planned := want[name]; !planned && after[name] != v {
			t.Errorf("%s changed though not reported: %s -> %q", name, v, after[name])
		}
	}
}

func installed(t *testing.T, status []byte) map[string]string {
	t.Helper()
	pkgs, err := deb.ParseStatus(status)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range pkgs {
		if p.Installed {
			m[p.Name] = p.Version
		}
	}
	return m
}

// assertRuns runs commands from upgraded packages in the patched image,
// pulled back from the registry.
func assertRuns(t *testing.T, c *client.Client, image string, cands []testreport.Candidate) {
	t.Helper()
	st := llb.Image(image, llb.ResolveModeForcePull).User("root").Run(
		llb.Args([]string{"/bin/sh", "-c", "set -e; apt-get --version; dpkg --version; ls / >/dev/null; dpkg-query -W " + names(cands)}),
		llb.AddEnv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.IgnoreCache,
	).Root()
	if _, err := testreport.ReadFiles(t.Context(), c, st); err != nil {
		t.Fatalf("running commands in %s: %v", image, err)
	}
}

func names(cands []testreport.Candidate) string {
	var n []string
	for _, c := range cands {
		n = append(n, c.Name)
	}
	return strings.Join(n, " ")
}

func jsonString(v any) string {
	dt, _ := json.Marshal(v)
	return string(dt)
}

// assertLineage checks darn's lineage labels: the original image by
// digest and layer count, and every candidate among the fixes.
func assertLineage(t *testing.T, orig, patched registryImage, cands []testreport.Candidate) {
	t.Helper()
	l, ok, err := patch.ReadLineage(patched.Config)
	if err != nil || !ok {
		t.Fatalf("no lineage in %s: %v %v", patched.Ref, ok, err)
	}
	if l.OriginalDigest.String() != orig.Digest || l.OriginalLayers != len(orig.Manifest.Layers) || l.Version == "" {
		t.Errorf("lineage = %+v, want original %s with %d layers", l, orig.Digest, len(orig.Manifest.Layers))
	}
	fixed := map[string]bool{}
	for _, f := range l.Fixed {
		fixed[f.Package] = len(f.Vulnerabilities) > 0
	}
	for _, c := range cands {
		if !fixed[c.Name] {
			t.Errorf("lineage does not list the fix of %s: %+v", c.Name, l.Fixed)
		}
	}
}
