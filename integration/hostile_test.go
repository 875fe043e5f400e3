package integration

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/darn-dev/darn/integration/testreport"
)

// hostileAptGet is a hostile image's apt-get: it plants a package file of
// the right name and size for every package apt downloaded.
//
//go:embed testdata/hostile/apt-get
var hostileAptGet []byte

// pushDerived pushes st as ref, with the config of the image from (its
// history gains the new layers' entries from the exporter), changed by
// edit when given.
func pushDerived(t *testing.T, b bed, from, ref string, st llb.State, edit ...func(*dockerspec.DockerOCIImage)) {
	t.Helper()
	img := fetchImage(t, from).Config
	for _, e := range edit {
		e(&img)
	}
	cfg, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.client(t).Build(t.Context(), client.SolveOpt{
		Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"name": ref, "push": "true"}}},
	}, "darn-hostile", func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterImageConfigKey, cfg)
		return res, nil
	}, nil)
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// hostileRef names an image the test derives.
func hostileRef(b bed, name string) string {
	return fmt.Sprintf("%s/darn-test/hostile:%s-%d", b.Registry, name, time.Now().UnixNano())
}

// checkInImage runs script with sh in image and returns what it wrote to
// $OUT: the image's own programs, its own view of its files.
func checkInImage(t *testing.T, c *client.Client, image, script string) string {
	t.Helper()
	run := llb.Image(image, llb.ResolveModeForcePull).User("root").Dir("/").Run(
		llb.Args([]string{"/bin/sh", "-c", script}),
		llb.AddEnv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.AddEnv("OUT", "/run/darn-check/out"),
		llb.IgnoreCache,
	)
	files, err := testreport.ReadFiles(t.Context(), c, run.AddMount("/run/darn-check", llb.Scratch()), "out")
	if err != nil {
		t.Fatalf("running a check in %s: %v", image, err)
	}
	return string(files["out"])
}

// An image whose apt-get plants package files in every cache it can reach
// cannot reach the next patch of another image: that patch's packages are
// the genuine ones, file for file. Both images are the test image plus a
// file of their own, so that no earlier run's cached step answers for
// them; --no-cache is not used, since BuildKit empties a step's cache
// mounts under it.
func TestHostileImageCannotPoisonOtherPatches(t *testing.T) {
	e := newEntryBed(t)
	hostile, other := hostileRef(e.bed, "apt-wrapper"), hostileRef(e.bed, "genuine")
	nonce := llb.Mkfile("/etc/darn-test-nonce", 0o644, []byte(time.Now().String()))
	pushDerived(t, e.bed, e.TestImage, hostile, llb.Image(e.TestImage).
		File(nonce.Mkfile("/usr/local/bin/apt-get", 0o755, hostileAptGet)))
	pushDerived(t, e.bed, e.TestImage, other, llb.Image(e.TestImage).File(nonce))
	// The hostile image's own patch is its own business: it may fail.
	cmd := dockerCmd(t, dockerConfigWithPlugin(t), []string{"BUILDKIT_HOST=" + e.BuildkitHost}, "patch", "image", hostile,
		"--report", filepath.Join(writeReport(t, hostile, e.rel, e.cands), "report.json"), "--tag", hostile+"-patched", "--push", "--progress", "plain")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "hostile apt-get: planted") {
		t.Fatalf("the hostile apt-get planted nothing, so this test proves nothing:\n%s", out)
	}

	tag := other + "-patched"
	runPlugin(t, e.bed, 0, "patch", "image", other, "--report", filepath.Join(writeReport(t, other, e.rel, e.cands), "report.json"),
		"--tag", tag, "--push", "--progress", "plain")
	patched := fetchImage(t, tag)
	for _, le := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		if strings.Contains(le.Name, "darn-planted") {
			t.Errorf("a planted package file reached the patch of another image: %s", le.Name)
		}
	}
	// Every file of every upgraded package has the bytes its genuine
	// package lists (a planted package lists none, or lacks the files).
	got := checkInImage(t, e.client(t), tag, `for p in `+names(e.cands)+`; do
  f=$(dpkg-query --control-path "$p" md5sums 2>/dev/null) || { echo "$p: no md5sums" >>"$OUT"; continue; }
  [ -s "$f" ] || { echo "$p: empty md5sums" >>"$OUT"; continue; }
  (cd / && md5sum -c --quiet "$f") >>"$OUT" 2>&1 || echo "$p: files differ from the package" >>"$OUT"
done
[ ! -e /usr/share/darn-planted ] || echo "planted files: $(ls /usr/share/darn-planted)" >>"$OUT"
touch "$OUT"`)
	if got != "" {
		t.Errorf("the patched image's packages are not the genuine ones:\n%s", got)
	}
	assertPackages(t, fetchImage(t, other), patched, e.cands)
}

// plantLinks derives a distroless image from the bed's by script, which
// runs with the image's root at /target.
func plantLinks(t *testing.T, d distrolessBed, name, script string) string {
	t.Helper()
	ref := hostileRef(d.bed, name)
	run := llb.Image(d.TestImage).User("root").Run(
		llb.Args([]string{"/bin/sh", "-ec", script}),
		llb.AddEnv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.AddEnv("PACKAGES", names(d.cands())),
	)
	pushDerived(t, d.bed, d.image, ref, run.AddMount("/target", llb.Image(d.image)))
	return ref
}

// A distroless image's planted absolute symlinks are resolved inside the
// image: its library directory links to a directory that also exists in
// the tooling image, and md5sums sidecars link into the tooling
// container's /tmp. The new files land where the image sees its
// libraries, the planted sidecar links are replaced, and the image's own
// view of every upgraded package's files matches the package.
func TestDistrolessPlantedSymlinks(t *testing.T) {
	d := newDistrolessBed(t)
	cands := d.cands()
	hostile := plantLinks(t, d, "distroless-links", `
mkdir -p /target/usr/local/lib
mv /target/usr/lib/x86_64-linux-gnu/* /target/usr/local/lib/
rmdir /target/usr/lib/x86_64-linux-gnu
ln -s /usr/local/lib /target/usr/lib/x86_64-linux-gnu
# Libraries keep their sidecars, so that the check below reads their
# files through the planted directory link; the others' sidecars lead
# into the tooling container.
for p in $PACKAGES; do
  case $p in lib*) ;; *) ln -sf /tmp/darn-planted-$p /target/var/lib/dpkg/status.d/$p.md5sums ;; esac
done`)
	report := filepath.Join(writeReport(t, hostile, d.rel, cands), "report.json")
	tag := d.tag("planted-links")
	runPlugin(t, d.bed, 0, "patch", "image", hostile, "--report", report, "--source-policy", policyFile(t, convertRule(defaultTooling, d.tooling)),
		"--tag", tag, "--push", "--progress", "plain")
	orig, patched := fetchImage(t, hostile), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertStatusD(t, orig, patched, cands)
	if got := md5sumsInImageView(t, d, tag, cands); got != "" {
		t.Errorf("the image's own view of its upgraded packages:\n%s", got)
	}
}

// A symlink loop where a package puts files cannot be resolved: the patch
// is refused, naming the path, and nothing is pushed.
func TestDistrolessSymlinkLoopRefused(t *testing.T) {
	d := newDistrolessBed(t)
	hostile := plantLinks(t, d, "distroless-loop", `
rm -rf /target/usr/lib/x86_64-linux-gnu
ln -s /usr/lib/x86_64-linux-gnu /target/usr/lib/x86_64-linux-gnu`)
	report := filepath.Join(writeReport(t, hostile, d.rel, d.cands()), "report.json")
	tag := d.tag("loop")
	out := runPlugin(t, d.bed, 1, "patch", "image", hostile, "--report", report, "--source-policy", policyFile(t, convertRule(defaultTooling, d.tooling)),
		"--tag", tag, "--push", "--progress", "plain")
	if !regexp.MustCompile(`refusing /(usr/)?lib/x86_64-linux-gnu: too many levels of symbolic links in the image`).MatchString(out) {
		t.Errorf("the refusal does not name the path:\n%s", out)
	}
	if tags := repoTags(t, repoOf(t, tag)); slices.Contains(tags, tag[strings.LastIndex(tag, ":")+1:]) {
		t.Errorf("%s was pushed though the patch was refused", tag)
	}
}

// md5sumsInImageView checks each package's md5sums sidecar with a static
// busybox run in the patched image's own root, so that every absolute
// link resolves as the image resolves it. It returns what failed.
func md5sumsInImageView(t *testing.T, d distrolessBed, image string, cands []testreport.Candidate) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the test bed has no static busybox (busybox-static): %v", err)
	}
	tools := llb.Scratch().File(llb.Mkfile("/busybox", 0o755, bb))
	script := `cd /; for p in ` + names(cands) + `; do
  s=/var/lib/dpkg/status.d/$p.md5sums
  if [ -L "$s" ] || [ ! -f "$s" ]; then echo "$p: $s is not a regular file" >>$OUT; continue; fi
  # Documentation the distroless image leaves out is not checked.
  while read -r sum path; do
    case $path in usr/share/doc/*/copyright) ;; usr/share/doc/* | usr/share/man/* | usr/share/lintian/*) continue ;; esac
    echo "$sum  $path"
  done <"$s" | md5sum -c -s - >>$OUT 2>&1 || echo "$p: files differ from the package" >>$OUT
done; touch $OUT`
	// busybox runs its applets by name: give it a bin directory of links.
	run := llb.Image(image, llb.ResolveModeForcePull).Run(
		llb.Args([]string{"/.darn-tools/busybox", "sh", "-c", "mkdir -p /.darn-tools/bin && /.darn-tools/busybox --install -s /.darn-tools/bin && " + script}),
		llb.AddEnv("PATH", "/.darn-tools/bin"),
		llb.AddEnv("OUT", "/.darn-out/out"),
		llb.AddMount("/.darn-tools", tools),
		llb.IgnoreCache,
	)
	files, err := testreport.ReadFiles(t.Context(), d.client(t), run.AddMount("/.darn-out", llb.Scratch()), "out")
	if err != nil {
		t.Fatalf("checking %s in its own root: %v", image, err)
	}
	return string(files["out"])
}
