package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"google.golang.org/protobuf/proto"

	"github.com/darn-dev/darn/distros"
)

// FuzzParseSourcePolicy checks ParseSourcePolicy on any bytes: it never
// panics; every error is a *SourcePolicyError naming the file (one per
// bad rule when several are joined); a policy it accepts is what buildx
// reads from the same bytes, survives MarshalSourcePolicy and
// ParseSourcePolicy unchanged, and yields only valid repository mirrors.
func FuzzParseSourcePolicy(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "sourcepolicy", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		dt, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(dt)
	}
	f.Fuzz(checkParse)
}

// FuzzSourcePolicyRule runs the checks of FuzzParseSourcePolicy on one
// well-formed rule, so that the fuzzer spends its time in the rule checks,
// the engine and RepoMirrors rather than in JSON syntax.
func FuzzSourcePolicyRule(f *testing.F) {
	for _, seed := range []struct {
		action, match int32
		sel, to       string
	}{
		{2, 1, "http://deb.debian.org/debian", "http://127.0.0.1:8080/debian"},
		{2, 0, "http://deb.debian.org/debian/*", "http://127.0.0.1:8080/debian/${1}"},
		{2, 0, "docker-image://docker.io/library/golang:*", "docker-image://docker.io/library/golang:${1}-bookworm"},
		{2, 2, "docker-image://docker.io/library/(.*):(.*)", "docker-image://mirror.example/$1:$2"},
		{1, 0, "docker-image://docker.io/library/alpine:*", ""},
	} {
		f.Add(seed.action, seed.match, seed.sel, seed.to)
	}
	f.Fuzz(func(t *testing.T, action, match int32, sel, to string) {
		rule := map[string]any{"action": action, "selector": map[string]any{"identifier": sel, "match_type": match}}
		if to != "" {
			rule["updates"] = map[string]any{"identifier": to}
		}
		dt, err := json.Marshal(map[string]any{"rules": []any{rule}})
		if err != nil {
			t.Skip(err)
		}
		checkParse(t, dt)
	})
}

// checkParse parses dt and checks what FuzzParseSourcePolicy promises.
func checkParse(t *testing.T, dt []byte) {
	t.Helper()
	p, err := ParseSourcePolicy(dt, "fuzz.json")
	if err != nil {
		checkPolicyError(t, err)
		return
	}
	var buildx spb.Policy
	if err := json.Unmarshal(dt, &buildx); err != nil || !proto.Equal(p, &buildx) {
		t.Fatalf("darn reads %v, buildx %v (%v)", p, &buildx, err)
	}
	out, err := MarshalSourcePolicy(p)
	if err != nil {
		t.Fatalf("marshalling an accepted policy: %v", err)
	}
	back, err := ParseSourcePolicy(out, "marshalled")
	if err != nil || !proto.Equal(p, back) {
		t.Fatalf("round trip: %v, %v\n%s", back, err, out)
	}
	checkPolicyMirrors(t, p)
}

// checkPolicyError fails unless err is, or joins, *SourcePolicyErrors
// for the fuzzed file.
func checkPolicyError(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		pe, ok := errors.AsType[*SourcePolicyError](e)
		if !ok || pe.Filename != "fuzz.json" || pe.Err == nil {
			t.Fatalf("error %v (%T) is not a *SourcePolicyError for fuzz.json", e, e)
		}
	}
}

// checkPolicyMirrors fails unless the mirrors of an accepted policy are
// what distros.ParseMirror accepts, unchanged.
func checkPolicyMirrors(t *testing.T, p *spb.Policy) {
	t.Helper()
	ms, err := RepoMirrors(p)
	if err != nil {
		t.Fatalf("RepoMirrors of an accepted policy: %v", err)
	}
	for _, m := range ms {
		if back, err := distros.ParseMirror(m.String()); err != nil || back != m {
			t.Fatalf("mirror %+v parses back as %+v, %v", m, back, err)
		}
	}
}
