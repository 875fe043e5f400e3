package plugin

import (
	"maps"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The original's annotations go to the exporter: patched manifests and the
// index say when they were made; a kept platform's stay as they were.
func TestExporterAttrs(t *testing.T) {
	created := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	src := sourceAnnotations{
		isIndex: true,
		index:   map[string]string{ocispecs.AnnotationCreated: "2020-01-01T00:00:00Z", ocispecs.AnnotationTitle: "app"},
		manifests: map[string]map[string]string{
			"linux/amd64": {ocispecs.AnnotationCreated: "2020-01-01T00:00:00Z", "team": "x"},
			"linux/arm64": {ocispecs.AnnotationCreated: "2020-01-01T00:00:00Z"},
		},
	}
	o := imageOptions{platform: "linux/amd64"}
	got := src.exporterAttrs(o.patchedPlatform, created, true)
	want := map[string]string{
		"annotation-index.org.opencontainers.image.created":                 "2026-12-04T10:00:00Z",
		"annotation-index.org.opencontainers.image.title":                   "app",
		"annotation-manifest[linux/amd64].org.opencontainers.image.created": "2026-12-04T10:00:00Z",
		"annotation-manifest[linux/amd64].team":                             "x",
		"annotation-manifest[linux/arm64].org.opencontainers.image.created": "2020-01-01T00:00:00Z",
	}
	if !maps.Equal(got, want) {
		t.Errorf("exporterAttrs =\n%v\nwant\n%v", got, want)
	}
	single := sourceAnnotations{manifests: map[string]map[string]string{"": {"team": "x"}}}
	if got := single.exporterAttrs(o.patchedPlatform, created, false); !maps.Equal(got, map[string]string{"annotation-manifest.team": "x"}) {
		t.Errorf("single image: %v", got)
	}
}
