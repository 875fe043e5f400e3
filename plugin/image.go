package plugin

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/darn-dev/darn/distros"
)

// imageOptions are the flags of "docker patch image".
type imageOptions struct {
	image    string
	report   string
	tag      string
	suffix   string
	push     bool
	load     bool
	outputs  []string
	platform string
	progress string
	noCache  bool
	network  string
	// toolingImage patches images without a package manager.
	toolingImage string
	// repoMirrors are the --repo-mirror flags as given; validate parses
	// them into mirrors, to which runImage adds the source policy's.
	repoMirrors []string
	mirrors     []distros.Mirror
	// frontendImage runs darn from its frontend image through gateway.v0
	// instead of in-process.
	frontendImage string
	// sourcePolicy is a BuildKit source policy file for every image the
	// patch pulls; empty for $EXPERIMENTAL_BUILDKIT_SOURCE_POLICY.
	sourcePolicy string
	// vexFile receives an OpenVEX document of the verified fixes.
	vexFile      string
	ignoreErrors bool
	updateAll    bool
	// fetchTimeout bounds each request of the package manager; zero is
	// the frontend's default.
	fetchTimeout time.Duration
	// sourceDateEpoch (seconds) makes the patched image reproducible;
	// $SOURCE_DATE_EPOCH when the flag is not given, as in buildx.
	sourceDateEpoch string
	// policy is a patch policy file (docs/policy.md); failOnEOL fails the
	// patch of an end-of-life release.
	policy    string
	failOnEOL bool
	builder   builderOptions
}

const imageExamples = `  # Patch the packages a Trivy report names and push the result as debian:12-patched
  trivy image -f json -o report.json debian:12
  docker patch image debian:12 --report report.json --push

  # Write the patched image to an OCI layout tarball instead
  docker patch image registry.example/app:1.4 --report report.json --output type=oci,dest=app.tar

  # Patch on a buildx builder and load the result into the Docker daemon
  docker patch image app:1.4 --report report.json --builder mybuilder --load

  # Use a specific BuildKit daemon, show plain progress, name the result
  docker patch image app:1.4 --report report.json --addr tcp://buildkitd:1234 --progress plain \
    --tag registry.example/app:1.4-fixed --push`

// imageCmd returns "docker patch image".
func imageCmd(dockerCLI command.Cli) *cobra.Command {
	var o imageOptions
	cmd := &cobra.Command{
		Use:     "image [OPTIONS] IMAGE",
		Short:   "Patch the vulnerable OS packages of an image",
		Example: imageExamples,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				// The docker CLI's own words for a missing argument.
				return usageError{errors.New("\"docker patch image\" requires exactly 1 argument (the image to patch)\nSee 'docker patch image --help'.")} //nolint:revive,staticcheck // the docker CLI's message
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return runImage(cmd.Context(), dockerCLI, o)
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	f := cmd.Flags()
	f.StringVarP(&o.report, "report", "r", "", "Vulnerability report (Trivy or Grype JSON), or a directory of reports, one per platform")
	f.StringVarP(&o.tag, "tag", "t", "", `Name of the patched image (default: the image's repository, tag "<tag><suffix>")`)
	f.StringVar(&o.suffix, "suffix", "-patched", "Suffix for the default tag")
	f.BoolVar(&o.push, "push", false, "Push the patched image to its registry")
	f.BoolVar(&o.load, "load", false, "Load the patched image into the Docker daemon")
	f.StringArrayVarP(&o.outputs, "output", "o", nil, `Export the result, BuildKit exporter syntax (e.g. "type=oci,dest=image.tar")`)
	f.StringVar(&o.platform, "platform", "", "Platforms to patch, comma-separated; an index's other platforms are kept as they are (default: all of an index's, or the builder's own)")
	f.StringVar(&o.progress, "progress", "auto", "Progress output: auto, plain, tty, quiet, rawjson")
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use the build cache for the upgrade")
	f.StringVar(&o.network, "network", "default", `Network for the package manager: "default" (the builder's sandbox) or "host"`)
	f.StringVar(&o.toolingImage, "tooling-image", "", "Image that patches images without a package manager (default: the distribution's slim image of the same release)")
	f.StringArrayVar(&o.repoMirrors, "repo-mirror", nil, "Fetch packages from MIRROR instead of ORIGINAL while patching: ORIGINAL=MIRROR (repeatable)")
	f.StringVar(&o.frontendImage, "frontend", "", "Run darn from this frontend image (gateway.v0) instead of in-process")
	f.StringVar(&o.sourcePolicy, "source-policy", "", "BuildKit source policy (JSON) for every image the patch pulls, e.g. from \"docker patch policy pin\" (default $"+envSourcePolicy+")")
	f.BoolVar(&o.updateAll, "update-all", false, "Upgrade every package with a newer version in the image's sources (no report)")
	f.BoolVar(&o.ignoreErrors, "ignore-errors", false, "Keep the patched image when a package stays below its fixed version (warn instead of failing)")
	f.StringVar(&o.vexFile, "vex", "", "Write an OpenVEX document of the vulnerabilities verified fixed to this file")
	f.StringVar(&o.sourceDateEpoch, "source-date-epoch", "", "Timestamp (seconds since 1970) of the patch, for byte-for-byte reproducible images (default $SOURCE_DATE_EPOCH)")
	f.DurationVar(&o.fetchTimeout, "fetch-timeout", 0, "Fail a package download or index refresh after this long without an answer, per request and attempt (default 30s)")
	addPolicyFlags(f, &o)
	addBuilderFlags(f, &o.builder)
	return cmd
}

// addPolicyFlags adds the patch policy flags "image" and "plan" share.
func addPolicyFlags(f *pflag.FlagSet, o *imageOptions) {
	f.StringVar(&o.policy, "policy", "", "Patch policy (YAML or JSON): severity floor, packages to include or exclude, vulnerabilities to ignore, per-image rules (see docs/policy.md)")
	f.BoolVar(&o.failOnEOL, "fail-on-eol", false, "Fail when the image's release is end of life (default: warn)")
}

// validate checks flag combinations that need no daemon, and derives the
// mirrors and the default tag.
func (o *imageOptions) validate() error {
	for _, check := range []func() error{o.validateReport, o.validateOutputs, o.validateRun, o.builder.validate} {
		if err := check(); err != nil {
			return usageError{err}
		}
	}
	mirrors, err := parseRepoMirrors(o.repoMirrors)
	if err != nil {
		return err
	}
	o.mirrors = mirrors
	if _, err := reference.ParseNormalizedNamed(o.image); err != nil {
		return usageError{fmt.Errorf("invalid image reference %q: %w", o.image, err)}
	}
	if o.tag == "" {
		if o.tag, err = defaultTag(o.image, o.suffix); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// validateReport checks --report against --update-all.
func (o *imageOptions) validateReport() error {
	switch {
	case o.updateAll && o.report != "":
		return errors.New("--update-all and --report exclude each other: update-all upgrades everything the sources offer")
	case o.updateAll:
	case o.report == "":
		return errors.New("--report is required: darn patches the packages a scanner report names (or use --update-all)")
	default:
		if _, err := os.Stat(o.report); err != nil {
			return fmt.Errorf("--report %s: not a readable file or directory", o.report)
		}
	}
	return nil
}

// validateOutputs checks where the result goes.
func (o *imageOptions) validateOutputs() error {
	if o.push && len(o.outputs) > 0 {
		return errors.New("--push and --output cannot be combined: add push=true to a type=image output instead")
	}
	if o.vexFile != "" && !o.push && !o.load && len(o.outputs) == 0 {
		return errors.New("--vex names the patched image by digest: add --push, --load or an image/oci/docker --output")
	}
	return nil
}

// validateRun checks how the patch runs.
func (o *imageOptions) validateRun() error {
	if o.sourceDateEpoch == "" {
		o.sourceDateEpoch = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if n, err := strconv.ParseInt(o.sourceDateEpoch, 10, 64); o.sourceDateEpoch != "" && (err != nil || n < 0) {
		return fmt.Errorf("--source-date-epoch %q: want seconds since 1970, e.g. $(git log -1 --format=%%ct)", o.sourceDateEpoch)
	}
	if o.fetchTimeout != 0 && o.fetchTimeout < time.Second {
		return fmt.Errorf("--fetch-timeout %s: must be at least 1s", o.fetchTimeout)
	}
	if o.network != "" && o.network != "default" && o.network != "host" {
		return fmt.Errorf("--network %q: must be default or host", o.network)
	}
	switch o.progress {
	case "auto", "plain", "tty", "quiet", "rawjson":
		return nil
	}
	return fmt.Errorf("--progress %q: must be one of auto, plain, tty, quiet, rawjson", o.progress)
}

// parseRepoMirrors validates the --repo-mirror flags as the frontend
// validates its repo-mirror option: a bad one is a usage error that says
// what is wrong with it.
func parseRepoMirrors(flags []string) ([]distros.Mirror, error) {
	var out []distros.Mirror
	for _, flag := range flags {
		m, err := distros.ParseMirror(flag)
		if err != nil {
			return nil, usageError{fmt.Errorf("--repo-mirror %q: %w", flag, err)}
		}
		out = append(out, m)
	}
	return out, nil
}

// defaultTag names the patched image "<tag><suffix>" in the image's own
// repository; an untagged name counts as "latest". A digest-only reference
// has no tag to extend: it becomes "sha256-<12 hex digits><suffix>", so
// the tag still tells which image was patched.
func defaultTag(image, suffix string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", image, err)
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	} else if d, ok := named.(reference.Digested); ok {
		tag = d.Digest().Algorithm().String() + "-" + d.Digest().Encoded()[:12]
	}
	out, err := reference.WithTag(reference.TrimNamed(named), tag+suffix)
	if err != nil {
		return "", fmt.Errorf("naming patched image: %w", err)
	}
	return reference.FamiliarString(out), nil
}
