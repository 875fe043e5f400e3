package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/sys/atomicwriter"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/policy"
)

// planResultKey is the metadata key of a subrequest's JSON answer.
const planResultKey = "result.json"

// policyCmd returns "docker patch policy".
func policyCmd(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Write BuildKit source policies for patches",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for \"docker patch policy\"", args[0])}
			}
			return cmd.Help()
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.AddCommand(pinCmd(dockerCLI))
	return cmd
}

// pinOptions are the flags of "docker patch policy pin".
type pinOptions struct {
	image        string
	output       string
	report       string
	toolingImage string
	platform     string
	sourcePolicy string
	// frontendImage is pinned too, for patches run through gateway.v0.
	frontendImage string
	progress      string
	builder       builderOptions
}

const pinExamples = `  # Pin debian:12, and the tooling image if it needs one, then patch with the pins
  docker patch policy pin debian:12 --output policy.json
  docker patch image debian:12 --report report.json --source-policy policy.json

  # Buildx reads the same file from EXPERIMENTAL_BUILDKIT_SOURCE_POLICY
  EXPERIMENTAL_BUILDKIT_SOURCE_POLICY=policy.json docker patch image debian:12 --report report.json

  # Also pin the frontend image of gateway.v0 runs
  docker patch policy pin app:1.4 --frontend registry.example/darn/frontend:1 -o policy.json

  # Pin what an existing policy (e.g. one naming a mirror) maps the images to
  docker patch policy pin debian:12 --source-policy mirror.json -o pinned.json`

// pinCmd returns "docker patch policy pin".
func pinCmd(dockerCLI command.Cli) *cobra.Command {
	var o pinOptions
	cmd := &cobra.Command{
		Use:     "pin [OPTIONS] IMAGE",
		Short:   "Write a source policy pinning every image a patch of IMAGE uses to its current digest",
		Example: pinExamples,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("\"docker patch policy pin\" requires exactly 1 argument (the image to patch)\nSee 'docker patch policy pin --help'.")} //nolint:revive,staticcheck // the docker CLI's message
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return runPin(cmd.Context(), dockerCLI, o)
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", `Write the policy to this file (default: standard output)`)
	f.StringVarP(&o.report, "report", "r", "", "Vulnerability report (Trivy JSON) to plan with (default: an empty report)")
	f.StringVar(&o.toolingImage, "tooling-image", "", "Image that patches images without a package manager (default: the distribution's slim image of the same release)")
	f.StringVar(&o.platform, "platform", "", "Platforms to pin for (default: the builder's own)")
	f.StringVar(&o.sourcePolicy, "source-policy", "", "Apply this source policy and pin what it maps the images to (default $"+envSourcePolicy+")")
	f.StringVar(&o.frontendImage, "frontend", "", "Also pin this frontend image (for docker patch image --frontend)")
	f.StringVar(&o.progress, "progress", "auto", "Progress output on standard error: auto, plain, tty, quiet, rawjson")
	addBuilderFlags(f, &o.builder)
	return cmd
}

// validate checks the flags that need no daemon.
func (o *pinOptions) validate() error {
	if err := o.builder.validate(); err != nil {
		return usageError{err}
	}
	for _, ref := range [][2]string{{"invalid image reference", o.image}, {"--tooling-image", o.toolingImage}, {"--frontend", o.frontendImage}} {
		if _, err := reference.ParseNormalizedNamed(ref[1]); ref[1] != "" && err != nil {
			return usageError{fmt.Errorf("%s %q: %w", ref[0], ref[1], err)}
		}
	}
	for _, file := range [][2]string{{"--report", o.report}, {"--source-policy", o.sourcePolicy}} {
		if st, err := os.Stat(file[1]); file[1] != "" && (err != nil || st.IsDir()) {
			return usageError{fmt.Errorf("%s %s: not a readable file", file[0], file[1])}
		}
	}
	for _, p := range strings.Split(o.platform, ",") {
		if _, err := platforms.Parse(p); o.platform != "" && err != nil {
			return usageError{fmt.Errorf("--platform %q: %w", o.platform, err)}
		}
	}
	switch o.progress {
	case "auto", "plain", "tty", "quiet", "rawjson":
		return nil
	}
	return usageError{fmt.Errorf("--progress %q: must be one of auto, plain, tty, quiet, rawjson", o.progress)}
}

// runPin plans a patch of the image on the builder, under the source
// policy if there is one, resolves every image the patch would pull and
// writes the policy that pins them.
func runPin(ctx context.Context, dockerCLI command.Cli, o pinOptions) error {
	c, _, pol, err := openBuilder(ctx, dockerCLI, o.builder, o.sourcePolicy, o.progress)
	if err != nil {
		return err
	}
	defer c.Close()
	opt, err := o.solveOpt(dockerCLI, pol)
	if err != nil {
		return err
	}
	found, err := o.resolve(ctx, c, opt, dockerCLI.Err())
	if err != nil {
		return explainSourcePolicyError(err, pol)
	}
	out, err := pinnedPolicy(pol, found)
	if err != nil {
		return err
	}
	dt, err := policy.MarshalSourcePolicy(out)
	if err != nil {
		return err
	}
	return o.write(dockerCLI.Out(), dockerCLI.Err(), dt, len(found))
}

// solveOpt asks darn's frontend for the plan (buildx --call plan), with the
// same frontend options a patch has, and applies the source policy.
func (o pinOptions) solveOpt(dockerCLI command.Cli, pol *spb.Policy) (client.SolveOpt, error) {
	reportFS, file, err := o.reportFS()
	if err != nil {
		return client.SolveOpt{}, err
	}
	opts, err := imageOptions{image: o.image, platform: o.platform, toolingImage: o.toolingImage}.patchOptions(file)
	if err != nil {
		return client.SolveOpt{}, err
	}
	opts.BuildKit.Request = patch.RequestPlan
	return client.SolveOpt{
		FrontendAttrs: opts.Attrs(),
		LocalMounts:   map[string]fsutil.FS{patch.ReportContext: reportFS},
		SourcePolicy:  pol,
		Session: []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerCLI.ConfigFile()),
		})},
	}, nil
}

// reportFS is the report context: the files of --report that reportFS
// shares or, without one, an empty report (Trivy's bare null) held in
// memory: a plan needs a report, pinning needs no findings.
func (o pinOptions) reportFS() (fsutil.FS, string, error) {
	if o.report == "" {
		return fileFS{name: "report.json", data: []byte("null")}, "report.json", nil
	}
	return reportFS(o.report)
}

// resolve runs the plan in-process with BuildKit's progress display on
// stderr, and returns the images the patch would use.
func (o pinOptions) resolve(ctx context.Context, c *client.Client, opt client.SolveOpt, stderr io.Writer) ([]resolvedImage, error) {
	display, err := progressui.NewDisplay(stderr, progressui.DisplayMode(o.progress))
	if err != nil {
		return nil, usageError{fmt.Errorf("--progress: %w", err)}
	}
	var found []resolvedImage
	build := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		var err error
		if found, err = o.findImages(ctx, gc, opt.SourcePolicy); err != nil {
			return nil, err
		}
		return gwclient.NewResult(), nil
	}
	ch := make(chan *client.SolveStatus)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		_, err := c.Build(ctx, opt, "docker-patch", build, ch)
		return err
	})
	eg.Go(func() error {
		// The display drains the channel until the build closes it.
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), ch)
		return err
	})
	return found, eg.Wait()
}

// findImages is the build function: darn's plan names the image and the
// tooling image per platform, and each is resolved again to learn what the
// source policy maps it to.
func (o pinOptions) findImages(ctx context.Context, gc gwclient.Client, pol *spb.Policy) ([]resolvedImage, error) {
	if err := checkSourcePolicySupport(gc.BuildOpts(), pol); err != nil {
		return nil, err
	}
	res, err := frontend.Build(ctx, gc)
	if err != nil {
		return nil, err
	}
	uses, err := planImages(res.Metadata[planResultKey])
	if err != nil {
		return nil, err
	}
	if o.frontendImage != "" {
		named, err := reference.ParseNormalizedNamed(o.frontendImage)
		if err != nil {
			return nil, fmt.Errorf("parsing frontend image %q: %w", o.frontendImage, err)
		}
		// BuildKit's gateway resolves a frontend image tagged, for its own platform.
		uses = append(uses, imageUse{ref: reference.TagNameOnly(named).String()})
	}
	return resolveUses(ctx, gc, uses)
}

// imageUse is an image a patch resolves, named as the frontend names it.
type imageUse struct {
	ref string
	// digest is what the plan resolved; empty for the frontend image.
	digest digest.Digest
	// platform is nil for the builder's own, as for a frontend image.
	platform *ocispecs.Platform
}

// planImages lists the images of the plan's summaries: the image on every
// platform and, where it has no package manager, the tooling image.
func planImages(dt []byte) ([]imageUse, error) {
	var sums []patch.Summary
	if err := json.Unmarshal(dt, &sums); err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	if len(sums) == 0 {
		return nil, errors.New("reading the plan: it names no image")
	}
	var uses []imageUse
	for _, s := range sums {
		p, err := platforms.Parse(s.Platform)
		if err != nil {
			return nil, fmt.Errorf("reading the plan: platform %q: %w", s.Platform, err)
		}
		uses = append(uses, imageUse{ref: s.Image, digest: digest.Digest(s.Digest), platform: &p})
		if s.ToolingImage != "" {
			uses = append(uses, imageUse{ref: s.ToolingImage, digest: digest.Digest(s.ToolingDigest), platform: &p})
		}
	}
	return uses, nil
}

// imageResolver is the one gateway call resolveUses makes.
type imageResolver interface {
	ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error)
}

// resolvedImage is an image as a patch names it, the image the source
// policy maps it to, and that image's digest.
type resolvedImage struct {
	source, target string
	digest         digest.Digest
}

// resolveUses resolves each image once, under the solve's source policy:
// BuildKit answers with the reference the policy converted it to.
func resolveUses(ctx context.Context, r imageResolver, uses []imageUse) ([]resolvedImage, error) {
	seen := map[string]bool{}
	var out []resolvedImage
	for _, u := range uses {
		if seen[u.ref] {
			continue
		}
		seen[u.ref] = true
		target, dgst, _, err := r.ResolveImageConfig(ctx, u.ref, sourceresolver.Opt{
			LogName:  "[pin] resolve " + u.ref,
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: u.platform},
		})
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", u.ref, err)
		}
		if u.digest != "" && dgst != u.digest {
			return nil, fmt.Errorf("resolving %s: it moved from %s to %s while pinning: run again", u.ref, u.digest, dgst)
		}
		out = append(out, resolvedImage{source: u.ref, target: target, digest: dgst})
	}
	return out, nil
}

// pinnedPolicy is the existing policy followed by the pins. The pins apply
// to what the existing rules convert to, so that a policy naming a mirror
// pins the mirror's image. Under a policy that denies sources, each pinned
// image is allowed explicitly: an ALLOW rule for a tag would no longer
// match it once the digest is added.
func pinnedPolicy(existing *spb.Policy, found []resolvedImage) (*spb.Policy, error) {
	images := make([]policy.PinnedImage, 0, len(found))
	for _, f := range found {
		images = append(images, policy.PinnedImage{Ref: f.target, Digest: f.digest})
	}
	pins, err := policy.PinPolicy(images)
	if err != nil {
		return nil, err
	}
	out := &spb.Policy{Version: existing.GetVersion()}
	out.Rules = append(append(out.Rules, existing.GetRules()...), pins.Rules...)
	if denies(existing) {
		out.Rules = append(out.Rules, allowRules(found)...)
	}
	return out, verifyPins(out, found)
}

// allowRules allows each pinned image by its exact identifier. Images that
// cannot be pinned are left to verifyPins to report.
func allowRules(found []resolvedImage) []*spb.Rule {
	var rules []*spb.Rule
	allowed := map[string]bool{}
	for _, f := range found {
		id, err := f.pinned()
		if err != nil || allowed[id] {
			continue
		}
		allowed[id] = true
		rules = append(rules, &spb.Rule{Selector: &spb.Selector{Identifier: id, MatchType: spb.MatchType_EXACT}})
	}
	return rules
}

// pinned is the identifier BuildKit should end up with for the image.
func (f resolvedImage) pinned() (string, error) {
	named, err := reference.ParseNormalizedNamed(f.target)
	if err != nil {
		return "", fmt.Errorf("pinning %s: %w", f.target, err)
	}
	if _, ok := named.(reference.Digested); !ok {
		if named, err = reference.WithDigest(reference.TagNameOnly(named), f.digest); err != nil {
			return "", fmt.Errorf("pinning %s: %w", f.target, err)
		}
	}
	return "docker-image://" + named.String(), nil
}

func denies(p *spb.Policy) bool {
	for _, r := range p.GetRules() {
		if r.GetAction() == spb.PolicyAction_DENY {
			return true
		}
	}
	return false
}

// verifyPins runs BuildKit's policy engine over every image as the patch
// names it: each must end up pinned, whatever the existing rules do.
func verifyPins(p *spb.Policy, found []resolvedImage) error {
	for _, f := range found {
		want, err := f.pinned()
		if err != nil {
			return err
		}
		got, err := policy.ConvertSource(p, "docker-image://"+f.source)
		if err != nil {
			return fmt.Errorf("checking the pins: %w", err)
		}
		if got != want {
			return fmt.Errorf("checking the pins: the source policy turns %s into %s, not the pinned %s: a rule converts the pinned image again", f.source, got, want)
		}
	}
	return nil
}

// write prints the policy on stdout, or writes it atomically to --output.
func (o pinOptions) write(stdout, stderr io.Writer, dt []byte, images int) error {
	if o.output == "" || o.output == "-" {
		_, err := stdout.Write(dt)
		return err
	}
	if err := atomicwriter.WriteFile(o.output, dt, 0o644); err != nil {
		return fmt.Errorf("writing source policy: %w", err)
	}
	if o.progress != "quiet" {
		fmt.Fprintf(stderr, "pinned %d images in %s\n", images, o.output)
	}
	return nil
}

// fileFS is a read-only fsutil.FS holding one file: a local context made
// up in memory, with no temporary directory to clean up.
type fileFS struct {
	name string
	data []byte
}

// Walk visits the file, the root's only entry.
func (f fileFS) Walk(_ context.Context, target string, fn fs.WalkDirFunc) error {
	switch strings.Trim(filepath.ToSlash(filepath.Clean(target)), "/") {
	case "", ".", f.name:
	default:
		return nil
	}
	st := &fstypes.Stat{Path: f.name, Mode: 0o644, Size: int64(len(f.data))}
	return fn(f.name, fs.FileInfoToDirEntry(&fsutil.StatInfo{Stat: st}), nil)
}

// Open opens the file.
func (f fileFS) Open(p string) (io.ReadCloser, error) {
	if strings.Trim(filepath.ToSlash(filepath.Clean(p)), "/") != f.name {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}
