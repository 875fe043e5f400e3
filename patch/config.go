package patch

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/plan"
)

// PatchedConfig returns the config of img, the image darn's layer goes
// on, with the patch recorded: one history entry for the one new layer,
// and darn's lineage as labels (labels travel with every export, Docker
// media types included). Everything else (entrypoint, env, user, ports,
// the image-spec's base-image labels ...) stays as it was.
func PatchedConfig(img Image, changed []plan.Change, created time.Time, l Lineage) dockerspec.DockerOCIImage {
	cfg := img.Config
	labels := make(map[string]string, len(cfg.Config.Labels)+5)
	maps.Copy(labels, cfg.Config.Labels)
	maps.Copy(labels, l.Labels())
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
