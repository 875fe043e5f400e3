package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/apicaps"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/policy"
)

const (
	denyDebianPolicy = `{"rules": [{"action": "DENY", "selector": {"identifier": "docker-image://docker.io/library/debian:*"}}]}`
	denyAlpinePolicy = `{"rules": [{"action": "DENY", "selector": {"identifier": "docker-image://docker.io/library/alpine:*"}}]}`
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSourcePolicy(t *testing.T) {
	flagFile := writeFile(t, "flag.json", denyDebianPolicy)
	envFile := writeFile(t, "env.json", denyAlpinePolicy)
	cases := map[string]struct {
		flag, env string
		want      string // the denied image's selector; "" for no policy
	}{
		"flag wins":  {flag: flagFile, env: envFile, want: "docker-image://docker.io/library/debian:*"},
		"env":        {env: envFile, want: "docker-image://docker.io/library/alpine:*"},
		"flag alone": {flag: flagFile, want: "docker-image://docker.io/library/debian:*"},
		"neither":    {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			getenv := func(k string) string {
				if k != envSourcePolicy {
					t.Errorf("read $%s", k)
				}
				return tc.env
			}
			p, err := loadSourcePolicy(tc.flag, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.GetRules(); tc.want == "" && p != nil || tc.want != "" && (len(got) != 1 || got[0].Selector.Identifier != tc.want) {
				t.Errorf("policy = %v, want the rule for %q", p, tc.want)
			}
		})
	}
}

func TestLoadSourcePolicyErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	invalid := writeFile(t, "invalid.json", `{"rules": [{"action": "CONVERT", "selector": {"identifier": "docker-image://debian:12"}}]}`)
	env := func(v string) func(string) string { return func(string) string { return v } }

	_, err := loadSourcePolicy(missing, env(""))
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "reading source policy (--source-policy): open "+missing) {
		t.Errorf("missing --source-policy file: %v (exit %d), want a usage error", err, exitCode(err))
	}
	_, err = loadSourcePolicy("", env(missing))
	if exitCode(err) != exitError || !strings.Contains(err.Error(), "reading source policy ($EXPERIMENTAL_BUILDKIT_SOURCE_POLICY): open "+missing) {
		t.Errorf("missing $%s file: %v (exit %d), want exit 1", envSourcePolicy, err, exitCode(err))
	}
	_, err = loadSourcePolicy(invalid, env(""))
	var pe *policy.SourcePolicyError
	if !errors.As(err, &pe) || pe.Filename != invalid || pe.Rule != 1 || exitCode(err) != exitError {
		t.Errorf("invalid policy: %v, want a *policy.SourcePolicyError for rule 1 of %s", err, invalid)
	}
}

func TestCheckSourcePolicySupport(t *testing.T) {
	p, err := policy.ParseSourcePolicy([]byte(denyDebianPolicy), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	all := gwclient.BuildOpts{LLBCaps: pb.Caps.CapSet(pb.Caps.All())}
	var withoutPolicy []*apicaps.PBCap
	for _, c := range pb.Caps.All() {
		if c.ID != string(pb.CapSourcePolicy) {
			withoutPolicy = append(withoutPolicy, c)
		}
	}
	old := gwclient.BuildOpts{LLBCaps: pb.Caps.CapSet(withoutPolicy)}
	if err := checkSourcePolicySupport(all, p); err != nil {
		t.Errorf("builder with source policies: %v", err)
	}
	if err := checkSourcePolicySupport(old, nil); err != nil {
		t.Errorf("no policy on an old builder: %v", err)
	}
	if err := checkSourcePolicySupport(old, p); !errors.Is(err, errNoSourcePolicy) {
		t.Errorf("policy on an old builder: %v, want errNoSourcePolicy", err)
	}
}

func TestExplainSourcePolicyError(t *testing.T) {
	pol, err := policy.ParseSourcePolicy([]byte(`{"rules": [
		{"action": "DENY", "selector": {"identifier": "*"}},
		{"action": "ALLOW", "selector": {"identifier": "docker-image://docker.io/library/*"}},
		{"action": "DENY", "selector": {"identifier": "docker-image://docker.io/library/debian:12-slim", "match_type": "EXACT"}},
		{"action": "CONVERT", "selector": {"identifier": "docker-image://docker.io/library/alpine:3", "match_type": "EXACT"},
		 "updates": {"identifier": "docker-image://docker.io/library/alpine:3.20"}}]}`), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	denied := func(id string) error {
		return fmt.Errorf("failed to solve: could not resolve image due to policy: source %q denied by policy: source denied by policy", id)
	}
	cases := map[string]struct {
		err  error
		want string // the added line; "" for the error unchanged
	}{
		"exact deny":  {err: denied("docker-image://docker.io/library/debian:12-slim"), want: "rule 3 (DENY docker-image://docker.io/library/debian:12-slim) of the source policy denies docker-image://docker.io/library/debian:12-slim"},
		"deny all":    {err: denied("docker-image://ghcr.io/org/app:1"), want: "rule 1 (DENY *) of the source policy denies docker-image://ghcr.io/org/app:1"},
		"allowed":     {err: denied("docker-image://docker.io/library/alpine:3")},
		"other error": {err: errors.New("failed to solve: pull access denied")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := explainSourcePolicyError(tc.err, pol)
			if !errors.Is(got, tc.err) {
				t.Errorf("%v does not wrap %v", got, tc.err)
			}
			if want := strings.TrimSuffix(tc.err.Error()+"\n"+tc.want, "\n"); got.Error() != want {
				t.Errorf("got:\n%v\nwant:\n%s", got, want)
			}
		})
	}
	if got := explainSourcePolicyError(denied("docker-image://x"), nil); got.Error() != denied("docker-image://x").Error() {
		t.Errorf("without a policy: %v", got)
	}
	if explainSourcePolicyError(nil, pol) != nil {
		t.Error("nil error explained")
	}
}

// TestPinDeniedTestbed reads the real daemon's denial: pin fails with the
// DENY rule named.
func TestPinDeniedTestbed(t *testing.T) {
	addr, _ := testbedSocket(t)
	image := os.Getenv("DARN_TEST_IMAGE")
	if image == "" {
		t.Skip("needs the test bed's image: DARN_TEST_IMAGE")
	}
	t.Setenv(envSourcePolicy, "")
	deny := writeFile(t, "deny.json", `{"rules": [{"action": "DENY", "selector": {"identifier": "docker-image://`+image+`"}}]}`)
	var stdout, stderr bytes.Buffer
	o := pinOptions{image: image, sourcePolicy: deny, progress: "quiet", builder: builderOptions{addr: addr}}
	err := runPin(t.Context(), testbedCLI(t, &stdout, &stderr), o)
	if want := "rule 1 (DENY docker-image://" + image + ") of the source policy denies docker-image://" + image; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error:\n%v\nwant it to end with:\n%s", err, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}

func TestWithPolicyMirrors(t *testing.T) {
	pol, err := policy.ParseSourcePolicy([]byte(`{"rules":[{"action":"CONVERT","selector":{"identifier":"http://deb.example/debian","match_type":"EXACT"},"updates":{"identifier":"http://127.0.0.1:8080/debian"}}]}`), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	flags := []distros.Mirror{{Original: "http://a.example/x", Mirror: "http://127.0.0.1/x"}}
	got, err := withPolicyMirrors(flags, pol)
	want := []distros.Mirror{flags[0], {Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("withPolicyMirrors = %v, %v; want %v", got, err, want)
	}
	if got, err := withPolicyMirrors(flags, nil); err != nil || !reflect.DeepEqual(got, flags) {
		t.Errorf("withPolicyMirrors without a policy = %v, %v; want the flags' %v", got, err, flags)
	}
}

// A CONVERT rule that carries the issue 9 exploit into apt's sources is
// refused, naming the rule: it used to become a repo-mirror option.
func TestWithPolicyMirrorsRefuses(t *testing.T) {
	pol := &spb.Policy{Rules: []*spb.Rule{{
		Action:   spb.PolicyAction_CONVERT,
		Selector: &spb.Selector{Identifier: "http://deb.debian.org/debian", MatchType: spb.MatchType_EXACT},
		Updates:  &spb.Update{Identifier: mirrorExploit},
	}}}
	got, err := withPolicyMirrors(nil, pol)
	pe, ok := errors.AsType[*policy.SourcePolicyError](err)
	if !ok || pe.Rule != 1 || pe.Action != "CONVERT" || pe.Identifier != "http://deb.debian.org/debian" {
		t.Errorf("withPolicyMirrors = %v, %v; want rule 1 refused", got, err)
	}
	if _, ok := errors.AsType[*distros.MirrorError](err); !ok {
		t.Errorf("%v: want the reason, a *distros.MirrorError", err)
	}
}

// mirrorExploit, in a mirror, became through awk -v escape processing a
// sources entry for an unsigned repository (issue 9). Its backslashes are
// literal.
const mirrorExploit = `http://m/debian\nhttp://m/debian\040file:/x\nSigned-By:\040Trusted:yes`
