package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
)

// offlineBed is the entry bed plus the offline image (apt sources on hosts
// that never resolve) and the bed's loopback mirror of its upgrades.
type offlineBed struct {
	entryBed
	offline, mirror string
}

func newOfflineBed(t *testing.T) offlineBed {
	t.Helper()
	o := offlineBed{entryBed: newEntryBed(t), offline: os.Getenv("DARN_OFFLINE_IMAGE"), mirror: os.Getenv("DARN_MIRROR_URL")}
	if o.offline == "" || o.mirror == "" {
		t.Fatal("the test bed lacks DARN_OFFLINE_IMAGE or DARN_MIRROR_URL")
	}
	return o
}

// mirrorFlags point the offline image's two repositories at base.
func mirrorFlags(base string) []string {
	return []string{
		"--repo-mirror", "http://deb.darn-unreachable.invalid/debian=" + base + "/debian",
		"--repo-mirror", "http://security.darn-unreachable.invalid/debian-security=" + base + "/debian-security",
	}
}

// fresh pushes the offline image plus a file of its own under a new name,
// so that no earlier run's cached step answers for it.
func (o offlineBed) fresh(t *testing.T, name string) string {
	t.Helper()
	ref := hostileRef(o.bed, name)
	pushDerived(t, o.bed, o.offline, ref, llb.Image(o.offline).
		File(llb.Mkfile("/etc/darn-test-nonce", 0o644, []byte(ref))))
	return ref
}

// patchArgs are the arguments of a patch of image into tag from the
// mirror at base.
func (o offlineBed) patchArgs(t *testing.T, image, tag, base string) []string {
	t.Helper()
	report := filepath.Join(writeReport(t, image, o.rel, o.cands), "report.json")
	return append([]string{"patch", "image", image, "--report", report, "--tag", tag, "--push", "--progress", "plain"}, mirrorFlags(base)...)
}

// Eight patches at once on one builder, of seven images and of one of them
// twice, all come out right.
func TestConcurrentPatches(t *testing.T) {
	o := newOfflineBed(t)
	var images []string
	for i := range 7 {
		images = append(images, o.fresh(t, fmt.Sprintf("concurrent-%d", i)))
	}
	images = append(images, images[0])
	tags := make([]string, len(images))
	outs := make([]string, len(images))
	codes := make([]int, len(images))
	var wg sync.WaitGroup
	for i, img := range images {
		tags[i] = fmt.Sprintf("%s-patched-%d", img, i)
		args := o.patchArgs(t, img, tags[i], o.mirror)
		cmd := dockerCmd(t, dockerConfigWithPlugin(t), []string{"BUILDKIT_HOST=" + o.BuildkitHost}, args...)
		wg.Go(func() {
			out, _ := cmd.CombinedOutput()
			outs[i], codes[i] = string(out), cmd.ProcessState.ExitCode()
		})
	}
	wg.Wait()
	for i, img := range images {
		if codes[i] != 0 {
			t.Errorf("patch %d of %s: exit %d\n%s", i, img, codes[i], outs[i])
			continue
		}
		orig, patched := fetchImage(t, img), fetchImage(t, tags[i])
		assertOneLayerAdded(t, orig, patched)
		assertPackages(t, orig, patched, o.cands)
	}
}

// A mirror that accepts connections and never answers fails the patch
// with a clear error after the fetch timeout, and nothing is pushed.
func TestUnresponsiveMirror(t *testing.T) {
	o := newOfflineBed(t)
	hung := hangingListener(t)
	image, tag := o.fresh(t, "hung-mirror"), hostileRef(o.bed, "hung-mirror-patched")
	args := append(o.patchArgs(t, image, tag, "http://"+hung), "--fetch-timeout", "3s")
	// The bound: four attempts of 3 s per index, with apt's back-off,
	// finish far inside this; apt's own default would take minutes.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := dockerCmd(t, dockerConfigWithPlugin(t), []string{"BUILDKIT_HOST=" + o.BuildkitHost}, args...)
	bounded := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	bounded.Env = cmd.Env
	out, _ := bounded.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the patch did not fail within %s against a mirror that never answers:\n%s", 3*time.Minute, out)
	}
	if !strings.Contains(string(out), "refreshing the package indexes failed: a repository failed or did not answer within the fetch timeout") {
		t.Errorf("the error does not say what went wrong:\n%s", out)
	}
	if tags := repoTags(t, repoOf(t, tag)); slices.Contains(tags, tag[strings.LastIndex(tag, ":")+1:]) {
		t.Errorf("%s was pushed", tag)
	}
}

// hangingListener accepts connections on loopback and never answers.
func hangingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// ownBuildkitd is a buildkitd of the test's own, on its own root and
// socket, with the bed's configuration: killing it disturbs no other test.
type ownBuildkitd struct {
	bin, config, root, addr string
	cmd                     *exec.Cmd
	log                     *bytes.Buffer
}

func newOwnBuildkitd(t *testing.T) *ownBuildkitd {
	t.Helper()
	bin := filepath.Join(filepath.Dir(os.Getenv("DARN_BUILDCTL")), "buildkitd")
	conf, err := os.ReadFile(filepath.Join(os.Getenv("DARN_TESTBED_DIR"), "buildkitd.toml"))
	if err != nil {
		t.Fatalf("the test bed's buildkitd.toml: %v", err)
	}
	// A short path: unix socket names are limited to 108 bytes, and the
	// daemon's mounts are cleaned up before the directory goes.
	dir, err := os.MkdirTemp("/tmp", "darn-bk-") //nolint:usetesting // removed by the cleanup below, after the mounts
	if err != nil {
		t.Fatal(err)
	}
	b := &ownBuildkitd{bin: bin, root: filepath.Join(dir, "root"), addr: "unix://" + filepath.Join(dir, "bk.sock"), config: filepath.Join(dir, "buildkitd.toml")}
	conf = regexp.MustCompile(`(?m)^root = .*$`).ReplaceAll(conf, []byte(fmt.Sprintf("root = %q", b.root)))
	conf = regexp.MustCompile(`(?m)^  address = .*$`).ReplaceAll(conf, []byte(fmt.Sprintf("  address = [%q]", b.addr)))
	if err := os.WriteFile(b.config, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.stop(t); unmountUnder(b.root); os.RemoveAll(dir) })
	b.start(t)
	return b
}

// start runs the daemon and waits until it answers.
func (b *ownBuildkitd) start(t *testing.T) {
	t.Helper()
	b.log = &bytes.Buffer{}
	b.cmd = exec.Command(b.bin, "--config", b.config, "--root", b.root, "--addr", b.addr)
	b.cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	// Its own process group, so that cleanup reaches the containers too.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 120 {
		c, err := client.New(t.Context(), b.addr)
		if err == nil {
			_, err = c.ListWorkers(t.Context())
			c.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("buildkitd at %s did not answer:\n%s", b.addr, b.log)
}

// kill sends SIGKILL to the daemon alone, as a crash or an OOM kill would.
func (b *ownBuildkitd) kill(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
}

// stop ends the daemon and everything it started.
func (b *ownBuildkitd) stop(t *testing.T) {
	t.Helper()
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	_ = b.cmd.Wait()
}

// unmountUnder lazily unmounts whatever a killed daemon left mounted
// under root (its snapshots and container roots).
func unmountUnder(root string) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 1 && strings.HasPrefix(fields[1], root) {
			points = append(points, fields[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// A builder killed during the upgrade step: the command fails with a clear
// message, nothing is pushed and the target tag still names what it named;
// after a restart, the same command succeeds.
func TestBuilderKilledMidPatch(t *testing.T) {
	o := newOfflineBed(t)
	bk := newOwnBuildkitd(t)
	image, tag := o.fresh(t, "killed"), hostileRef(o.bed, "killed-target")
	// The target tag exists before: it must be left as it was.
	pushDerived(t, o.bed, o.offline, tag, llb.Image(o.offline))
	before := fetchImage(t, tag).Digest
	args := append(o.patchArgs(t, image, tag, o.mirror), "--addr", bk.addr)
	cmd := dockerCmd(t, dockerConfigWithPlugin(t), []string{"BUILDKIT_HOST="}, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	started, killed := false, false
	sc := bufio.NewScanner(pr)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); pw.Close(); close(done) }()
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		started = started || strings.Contains(sc.Text(), "] apt-get install ")
		// apt is at work inside the upgrade step: kill the daemon now.
		if started && !killed && strings.Contains(sc.Text(), "Reading package lists") {
			bk.kill(t)
			killed = true
		}
	}
	<-done
	if !killed {
		t.Fatalf("the upgrade step never ran:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out.String(), "lost the connection to the builder") {
		t.Errorf("exit %d, want 1 with the builder named:\n%s", code, out.String())
	}
	if after := fetchImage(t, tag).Digest; after != before {
		t.Errorf("the target tag moved from %s to %s though the patch failed", before, after)
	}
	bk.start(t)
	runPluginEnv(t, []string{"BUILDKIT_HOST="}, 0, args...)
	patched := fetchImage(t, tag)
	assertOneLayerAdded(t, fetchImage(t, image), patched)
	assertPackages(t, fetchImage(t, image), patched, o.cands)
}
