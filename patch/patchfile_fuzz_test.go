package patch

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// FuzzParsePatchfile checks parsePatchfile on any file and build argument:
// it never panics, accepts a file only with a non-empty image, and, as it
// promises, points every error at lines of the file, except the two that
// concern the whole file (no instructions, no FROM).
func FuzzParsePatchfile(f *testing.F) {
	for _, seed := range []struct{ file, name, value string }{
		{"# syntax=darn\nARG TAG=12\nFROM debian:${TAG}\n", "TAG", "11"},
		{"ARG REG=127.0.0.1:5000\nARG IMG=${REG}/app\nFROM $IMG:1\n", "", ""},
		{"FROM debian:12\n\nFROM debian:11\n", "", ""},
		{"# escape=`\nFROM debian:12 `\n  AS x\n", "", ""},
		{"ARG I\nFROM $I\n", "I", ""},
		{"FROM --platform=$BUILDPLATFORM debian:${TAG:?no tag}\n", "TAG", "12"},
	} {
		f.Add([]byte(seed.file), seed.name, seed.value)
	}
	f.Fuzz(func(t *testing.T, dt []byte, name, value string) {
		image, err := ParsePatchfile(dt, map[string]string{name: value})
		if err == nil {
			if image == "" {
				t.Fatal("accepted with an empty image")
			}
			return
		}
		// BuildKit's parser points "no instructions" at line 0.
		if strings.HasPrefix(err.Error(), "parsing Patchfile: file with no instructions") ||
			err.Error() == "the Patchfile has no FROM naming the image to patch" {
			return
		}
		loc, ok := errors.AsType[*parser.LocationError](err)
		if !ok {
			t.Fatalf("error without a location: %v", err)
		}
		checkLocation(t, err, loc, dt)
	})
}

// checkLocation fails unless loc names lines of dt, first to last.
func checkLocation(t *testing.T, err error, loc *parser.LocationError, dt []byte) {
	t.Helper()
	lines := bytes.Count(dt, []byte("\n")) + 1
	if len(loc.Locations) == 0 {
		t.Fatalf("%v: a location error without a location", err)
	}
	for _, r := range loc.Locations {
		for _, rr := range r {
			if rr.Start.Line < 1 || rr.Start.Line > rr.End.Line || rr.End.Line > lines {
				t.Fatalf("%v: lines %d-%d of a %d-line file", err, rr.Start.Line, rr.End.Line, lines)
			}
		}
	}
}
