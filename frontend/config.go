package frontend

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// noCacheStep is the name `--no-cache-filter` matches for the upgrade step;
// a bare `no-cache` applies to every step.
const noCacheStep = "patch"

// Labels recording what the patched image was made from (image-spec
// annotation keys, which are also the conventional label names).
const (
	labelBaseName   = ocispecs.AnnotationBaseImageName
	labelBaseDigest = ocispecs.AnnotationBaseImageDigest
)

// patchedConfig returns the original config with the patch recorded: one
// history entry for the one new layer, and the base image's name and
// digest as labels. Everything else (entrypoint, env, user, ports, ...)
// stays as it was. Labels rather than manifest annotations carry the base,
// because annotations cannot be exported with Docker media types (--load).
func patchedConfig(img image, changed []Change, created time.Time) dockerspec.DockerOCIImage {
	cfg := img.Config
	labels := make(map[string]string, len(cfg.Config.Labels)+2)
	for k, v := range cfg.Config.Labels {
		labels[k] = v
	}
	labels[labelBaseName] = reference.FamiliarString(img.Ref)
	labels[labelBaseDigest] = img.Digest.String()
	cfg.Config.Labels = labels

	cfg.Created = &created
	cfg.History = append(append([]ocispecs.History(nil), cfg.History...), ocispecs.History{
		Created:   &created,
		CreatedBy: "darn patch: " + describeChanges(changed),
		Comment:   "darn",
	})
	return cfg
}

// describeChanges renders "pkg old -> new" for the history entry.
func describeChanges(changed []Change) string {
	parts := make([]string, 0, len(changed))
	for _, c := range changed {
		from := c.From
		if from == "" {
			from = "(new)"
		}
		parts = append(parts, fmt.Sprintf("%s %s -> %s", c.Name, from, c.To))
	}
	return strings.Join(parts, ", ")
}

// epoch returns SOURCE_DATE_EPOCH from the build args when set, for
// reproducible patches, or the current time.
func (p *patcher) epoch() (time.Time, error) {
	v, ok := p.bc.BuildArgs["SOURCE_DATE_EPOCH"]
	if !ok || v == "" {
		return time.Now().UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing build arg SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// epochOpt returns the epoch for the exporter only when the user asked for
// one: the exporter then clamps file times in the new layer too.
func (p *patcher) epochOpt(t time.Time) *time.Time {
	if p.bc.BuildArgs["SOURCE_DATE_EPOCH"] == "" {
		return nil
	}
	return &t
}
