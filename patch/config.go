package patch

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/plan"
)

// Labels recording what the patched image was made from (image-spec
// annotation keys, which are also the conventional label names).
const (
	LabelBaseName   = ocispecs.AnnotationBaseImageName
	LabelBaseDigest = ocispecs.AnnotationBaseImageDigest
)

// PatchedConfig returns the original config with the patch recorded: one
// history entry for the one new layer, and the base image's name and
// digest as labels. Everything else (entrypoint, env, user, ports, ...)
// stays as it was. Labels rather than manifest annotations carry the base,
// because annotations cannot be exported with Docker media types (--load).
func PatchedConfig(img Image, changed []plan.Change, created time.Time) dockerspec.DockerOCIImage {
	cfg := img.Config
	labels := make(map[string]string, len(cfg.Config.Labels)+2)
	maps.Copy(labels, cfg.Config.Labels)
	labels[LabelBaseName] = reference.FamiliarString(img.Ref)
	labels[LabelBaseDigest] = img.Digest.String()
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
func describeChanges(changed []plan.Change) string {
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

// SourceDateEpoch reads SOURCE_DATE_EPOCH from the build args, for
// reproducible patches; ok is false when it is not set.
func SourceDateEpoch(buildArgs map[string]string) (t time.Time, ok bool, err error) {
	v := buildArgs["SOURCE_DATE_EPOCH"]
	if v == "" {
		return time.Time{}, false, nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("parsing build arg SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), true, nil
}
