package patch

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

func TestParsePatchfile(t *testing.T) {
	cases := []struct {
		name     string
		file     string
		args     map[string]string
		want     string
		wantErr  string
		wantLine int
	}{
		{name: "plain", file: "# syntax=darn\nFROM debian:12\n", want: "debian:12"},
		{name: "arg default", file: "ARG TAG=12\nFROM debian:${TAG}\n", want: "debian:12"},
		{name: "build arg wins", file: "ARG TAG=12\nFROM debian:$TAG\n", args: map[string]string{"TAG": "11"}, want: "debian:11"},
		{name: "undeclared arg stays empty", file: "FROM debian:${TAG:-12}\n", args: map[string]string{"TAG": "11"}, want: "debian:12"},
		{name: "arg from arg", file: "ARG REG=127.0.0.1:5000\nARG IMG=${REG}/app\nFROM $IMG:1\n", want: "127.0.0.1:5000/app:1"},
		{name: "no from", file: "ARG X=1\n", wantErr: "no FROM"},
		{name: "run", file: "FROM debian:12\nRUN apt-get upgrade\n", wantErr: "unsupported instruction RUN", wantLine: 2},
		{name: "two froms", file: "FROM debian:12\n\nFROM debian:11\n", wantErr: "second FROM", wantLine: 3},
		{name: "as", file: "ARG A=1\nFROM debian:12 AS x\n", wantErr: "exactly one image", wantLine: 2},
		{name: "empty", file: "ARG I\nFROM $I\n", wantErr: "empty image", wantLine: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePatchfile([]byte(tc.file), tc.args)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
			var loc *parser.LocationError
			if tc.wantLine > 0 && (!errors.As(err, &loc) || loc.Locations[0][0].Start.Line != tc.wantLine) {
				t.Errorf("error does not point at line %d: %#v", tc.wantLine, loc)
			}
		})
	}
}
