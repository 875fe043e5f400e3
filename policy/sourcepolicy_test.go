package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/proto"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
)

const (
	digestA = digest.Digest("sha256:4edbd2beb5f78b1014028f4fbb99f3237d9561100b6881aabbf5acce2c4f9454")
	digestB = digest.Digest("sha256:6e4b94fc270e708e1068be28bd3551dc6917a4fc5a61293d51bb36e6b75c4b53")
)

func readPolicyFile(t *testing.T, name string) []byte {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join("testdata", "sourcepolicy", name))
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// validPolicies are testdata files BuildKit applies as they are.
var validPolicies = map[string]int{ // file: rules
	"exact.json": 1, "wildcard.json": 1, "regex.json": 1, "deny.json": 3, "allow.json": 1,
	"pin.json": 2, "numeric.json": 1, "empty.json": 0,
}

func TestParseSourcePolicyValid(t *testing.T) {
	for name, rules := range validPolicies {
		t.Run(name, func(t *testing.T) {
			p, err := ParseSourcePolicy(readPolicyFile(t, name), name)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) != rules {
				t.Errorf("%d rules, want %d", len(p.Rules), rules)
			}
		})
	}
}

// The decoded policy is what buildx itself decodes from the same file.
func TestParseSourcePolicyAgreesWithBuildx(t *testing.T) {
	for name := range validPolicies {
		dt := readPolicyFile(t, name)
		got, err := ParseSourcePolicy(dt, name)
		if err != nil {
			t.Fatal(err)
		}
		var want spb.Policy
		if err := json.Unmarshal(dt, &want); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, &want) {
			t.Errorf("%s: got %v, buildx reads %v", name, got, &want)
		}
	}
}

func TestParseSourcePolicyFields(t *testing.T) {
	p, err := ParseSourcePolicy(readPolicyFile(t, "regex.json"), "regex.json")
	if err != nil {
		t.Fatal(err)
	}
	r := p.Rules[0]
	if r.Action != spb.PolicyAction_CONVERT || r.Selector.MatchType != spb.MatchType_REGEX ||
		r.Selector.Constraints[0].Condition != spb.AttrMatch_MATCHES || r.Updates.Identifier != "docker-image://mirror.example/$1:$2" {
		t.Errorf("rule = %v", r)
	}
	got, err := ConvertSource(p, "docker-image://docker.io/library/debian:12")
	if err != nil || got != "docker-image://mirror.example/debian:12" {
		t.Errorf("ConvertSource = %q, %v", got, err)
	}
}

func TestParseSourcePolicyInvalid(t *testing.T) {
	cases := map[string]string{
		"bad-action.json":             `source policy bad-action.json: rule 1 (CONVRT docker-image://docker.io/library/debian:12): action "CONVRT": want one of ALLOW, DENY, CONVERT`,
		"bad-match-type.json":         `rule 1 (DENY docker-image://docker.io/library/debian:12): selector.match_type "FUZZY": want one of WILDCARD, EXACT, REGEX`,
		"camel-match-type.json":       `rule 1 (DENY ^docker-image://.*:latest$): unknown field "matchType": BuildKit's key is "match_type"`,
		"unknown-key.json":            `rule 1 (DENY): unknown field "selectr"`,
		"no-selector.json":            `rule 1 (DENY): selector.identifier is empty`,
		"no-scheme.json":              `rule 1 (DENY debian:12): selector.identifier "debian:12": not a source BuildKit knows`,
		"unknown-scheme.json":         `selector.identifier "docker://docker.io/library/debian:12": not a source BuildKit knows`,
		"wildcard-no-scheme.json":     `selector.identifier "docker.io/library/debian:*" has no scheme, so it matches no source`,
		"not-normalized.json":         `rule 1 (CONVERT docker-image://debian:12): selector.identifier: BuildKit names this image docker-image://docker.io/library/debian:12`,
		"bad-wildcard.json":           `rule 1 (DENY docker-image://docker.io/**): selector.identifier: invalid wildcard: "**"`,
		"bad-regex.json":              "selector.identifier: error parsing regexp: missing closing ): `docker-image://docker.io/(debian`",
		"bad-constraint.json":         "selector.constraints[0]: value: error parsing regexp: missing closing ]: `[`",
		"convert-no-updates.json":     `rule 1 (CONVERT docker-image://docker.io/library/debian:12): CONVERT needs updates.identifier`,
		"deny-with-updates.json":      `rule 1 (DENY docker-image://docker.io/library/debian:12): DENY rules take no updates`,
		"no-action-with-updates.json": `"action" is missing, which BuildKit reads as ALLOW, but the rule has updates`,
		"bad-target.json":             `updates.identifier: parsing image reference "127.0.0.1:5000/Debian:12": invalid reference format: repository name (Debian) must be lowercase`,
		"loop.json":                   `rule 1 (CONVERT docker-image://docker.io/library/golang:*): converting docker-image://docker.io/library/golang:x never ends`,
		"syntax.json":                 `source policy syntax.json: line 3, column 23: invalid character '"' after object key:value pair`,
		"truncated.json":              `source policy truncated.json: line 3, column 23: unexpected end of JSON input`,
		"trailing.json":               `source policy trailing.json: line 2, column 1: invalid character '{' after top-level value`,
		"rules-object.json":           `source policy rules-object.json: line 2, column 12: rules: want an array, got object`,
		"bad-mirror.json":             `rule 1 (CONVERT http://deb.debian.org/debian): reading the rule as a repository mirror: repository mirror "http://m/debian\\nhttp://m/debian\\040file:/x\\nSigned-By:\\040Trusted:yes": character '\\' at byte 15`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := ParseSourcePolicy(readPolicyFile(t, name), name)
			if err == nil {
				t.Fatalf("no error; policy %v", p)
			}
			if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "source policy "+name+": ") {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, want)
			}
			var pe *SourcePolicyError
			if !errors.As(err, &pe) || pe.Filename != name || (pe.Rule == 0) == (pe.Line == 0) {
				t.Errorf("error %#v: want one *SourcePolicyError naming the file and a rule or a line", pe)
			}
		})
	}
}

// Every bad rule is reported, each on its own line, not just the first.
func TestParseSourcePolicyReportsEveryRule(t *testing.T) {
	_, err := ParseSourcePolicy(readPolicyFile(t, "two-bad-rules.json"), "two-bad-rules.json")
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "source policy two-bad-rules.json: rule 2 (CONVERT ") ||
		!strings.HasPrefix(lines[1], "source policy two-bad-rules.json: rule 3 (ALLOW): ") {
		t.Errorf("error:\n%v", err)
	}
	var rules []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *SourcePolicyError
		if errors.As(e, &pe) {
			rules = append(rules, pe.Rule)
		}
	}
	if len(rules) != 2 || rules[0] != 2 || rules[1] != 3 {
		t.Errorf("rules %v, want [2 3]", rules)
	}
}

func TestSyntaxErrorUnwraps(t *testing.T) {
	_, err := ParseSourcePolicy(readPolicyFile(t, "syntax.json"), "syntax.json")
	if _, ok := errors.AsType[*json.SyntaxError](err); !ok {
		t.Errorf("%v does not wrap a *json.SyntaxError", err)
	}
}

func TestPinPolicy(t *testing.T) {
	p, err := PinPolicy([]PinnedImage{
		{Ref: "debian:12", Digest: digestA},
		{Ref: "127.0.0.1:5000/darn/tooling:1", Digest: digestB},
		{Ref: "docker.io/library/debian:12", Digest: digestA}, // the same image, normalized
		{Ref: "alpine@" + digestB.String(), Digest: digestB},  // already pinned
		{Ref: "busybox", Digest: digestA},                     // untagged: latest
	})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := MarshalSourcePolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, string(dt), filepath.Join("sourcepolicy", "pin.golden"))
	for from, want := range map[string]string{
		"docker-image://docker.io/library/debian:12":      "docker-image://docker.io/library/debian:12@" + digestA.String(),
		"docker-image://docker.io/library/busybox:latest": "docker-image://docker.io/library/busybox:latest@" + digestA.String(),
		"docker-image://127.0.0.1:5000/darn/tooling:1":    "docker-image://127.0.0.1:5000/darn/tooling:1@" + digestB.String(),
		"docker-image://docker.io/library/debian:11":      "docker-image://docker.io/library/debian:11",
	} {
		if got, err := ConvertSource(p, from); err != nil || got != want {
			t.Errorf("ConvertSource(%s) = %q, %v; want %q", from, got, err, want)
		}
	}
}

func TestPinPolicyErrors(t *testing.T) {
	cases := map[string][]PinnedImage{
		"pinning docker.io/library/debian:12: it resolved to two digests":                                                    {{Ref: "debian:12", Digest: digestA}, {Ref: "debian:12", Digest: digestB}},
		"pinning alpine@sha256:6e4b94fc270e708e1068be28bd3551dc6917a4fc5a61293d51bb36e6b75c4b53: the reference names digest": {{Ref: "alpine@" + digestB.String(), Digest: digestA}},
		"pinning Debian:12: invalid reference format":                                                                        {{Ref: "Debian:12", Digest: digestA}},
		`pinning debian:12: digest "sha256:abc": invalid`:                                                                    {{Ref: "debian:12", Digest: "sha256:abc"}},
	}
	for want, images := range cases {
		if _, err := PinPolicy(images); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("PinPolicy(%v) = %v, want %q", images, err, want)
		}
	}
}

// MarshalSourcePolicy writes what ParseSourcePolicy reads back, and what
// it writes of that is the same bytes again.
func TestMarshalSourcePolicyRoundTrip(t *testing.T) {
	for name := range validPolicies {
		t.Run(name, func(t *testing.T) {
			p, err := ParseSourcePolicy(readPolicyFile(t, name), name)
			if err != nil {
				t.Fatal(err)
			}
			dt, err := MarshalSourcePolicy(p)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseSourcePolicy(dt, "marshalled")
			if err != nil {
				t.Fatalf("%v\n%s", err, dt)
			}
			if !proto.Equal(p, back) {
				t.Errorf("round trip changed the policy:\n%v\n%v", p, back)
			}
			again, err := MarshalSourcePolicy(back)
			if err != nil || string(again) != string(dt) {
				t.Errorf("second marshal differs (%v):\n%s\n%s", err, dt, again)
			}
			var buildx spb.Policy
			if err := json.Unmarshal(dt, &buildx); err != nil || !proto.Equal(p, &buildx) {
				t.Errorf("buildx reads %v (%v), want %v", &buildx, err, p)
			}
		})
	}
}

func TestMarshalSourcePolicySpellsOutDefaults(t *testing.T) {
	p := &spb.Policy{Rules: []*spb.Rule{{Selector: &spb.Selector{Identifier: "docker-image://docker.io/library/*"}}}}
	dt, err := MarshalSourcePolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dt), `"action": "ALLOW"`) || !strings.Contains(string(dt), `"match_type": "WILDCARD"`) {
		t.Errorf("defaults not spelled out:\n%s", dt)
	}
}

func TestMarshalSourcePolicyRefusesInvalid(t *testing.T) {
	cases := map[string]*spb.Policy{
		"marshalling source policy: no policy":                        nil,
		"source policy: rule 1: rule is null":                         {Rules: []*spb.Rule{nil}},
		"source policy: rule 1 (ALLOW): selector.identifier is empty": {Rules: []*spb.Rule{{}}},
		"source policy: rule 1 (7 docker-image://docker.io/library/debian:12): action 7": {Rules: []*spb.Rule{{
			Action: 7, Selector: &spb.Selector{Identifier: "docker-image://docker.io/library/debian:12"},
		}}},
		"source policy: rule 1 (ALLOW local://*): selector.match_type 9": {Rules: []*spb.Rule{{
			Selector: &spb.Selector{Identifier: "local://*", MatchType: 9},
		}}},
		"source policy: rule 1 (ALLOW local://*): selector.constraints[0]: condition 5": {Rules: []*spb.Rule{{
			Selector: &spb.Selector{Identifier: "local://*", Constraints: []*spb.AttrConstraint{{Key: "k", Condition: 5}}},
		}}},
		"source policy: rule 1 (ALLOW local://*): selector.constraints[0]: key is empty": {Rules: []*spb.Rule{{
			Selector: &spb.Selector{Identifier: "local://*", Constraints: []*spb.AttrConstraint{{Value: "v"}}},
		}}},
		"source policy: rule 1 (CONVERT https://example.com/a): updates.attrs has an empty key": {Rules: []*spb.Rule{{
			Action: spb.PolicyAction_CONVERT, Selector: &spb.Selector{Identifier: "https://example.com/a"},
			Updates: &spb.Update{Attrs: map[string]string{"": "x"}},
		}}},
	}
	for want, p := range cases {
		if _, err := MarshalSourcePolicy(p); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("MarshalSourcePolicy = %v, want %q", err, want)
		}
	}
}

func TestConvertSourceDenied(t *testing.T) {
	p, err := ParseSourcePolicy(readPolicyFile(t, "deny.json"), "deny.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertSource(p, "docker-image://docker.io/library/alpine:3"); !errors.Is(err, sourcepolicy.ErrSourceDenied) {
		t.Errorf("alpine: %v, want ErrSourceDenied", err)
	}
	if got, err := ConvertSource(p, "docker-image://docker.io/library/debian:12"); err != nil || got != "docker-image://docker.io/library/debian:12" {
		t.Errorf("debian: %q, %v", got, err)
	}
	if got, err := ConvertSource(nil, "local://context"); err != nil || got != "local://context" {
		t.Errorf("no policy: %q, %v", got, err)
	}
}

func TestRepoMirrors(t *testing.T) {
	dt := []byte(`{"rules":[
	 {"action":"CONVERT","selector":{"identifier":"http://deb.example/debian-security/*","match_type":"WILDCARD"},"updates":{"identifier":"http://127.0.0.1:8080/debian-security/${1}"}},
	 {"action":"CONVERT","selector":{"identifier":"http://deb.example/debian","match_type":"EXACT"},"updates":{"identifier":"http://127.0.0.1:8080/debian"}},
	 {"action":"CONVERT","selector":{"identifier":"https://deb.example/ubuntu/"},"updates":{"identifier":"https://m.example/ubuntu/"}},
	 {"action":"CONVERT","selector":{"identifier":"https://deb.example/x*","match_type":"WILDCARD"},"updates":{"identifier":"https://m.example/x$1"}},
	 {"action":"CONVERT","selector":{"identifier":"https://example.com/tool.tar.gz"},"updates":{"attrs":{"http.checksum":"sha256:6e4b94fc270e708e1068be28bd3551dc6917a4fc5a61293d51bb36e6b75c4b53"}}},
	 {"action":"CONVERT","selector":{"identifier":"docker-image://docker.io/library/debian:12-slim","match_type":"EXACT"},"updates":{"identifier":"docker-image://127.0.0.1:5000/debian:12-slim"}},
	 {"action":"DENY","selector":{"identifier":"http://evil.example/*","match_type":"WILDCARD"}}]}`)
	p, err := ParseSourcePolicy(dt, "p.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := RepoMirrors(p)
	want := []distros.Mirror{
		{Original: "http://deb.example/debian-security", Mirror: "http://127.0.0.1:8080/debian-security"},
		{Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"},
		{Original: "https://deb.example/ubuntu", Mirror: "https://m.example/ubuntu"},
		{Original: "https://deb.example/x", Mirror: "https://m.example/x"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RepoMirrors = %+v, %v; want %+v", got, err, want)
	}
	if got, err := RepoMirrors(nil); got != nil || err != nil {
		t.Errorf("RepoMirrors(nil) = %v, %v; want no mirrors", got, err)
	}
}

// An http(s) CONVERT rule that is not a valid mirror fails, naming the
// rule, from RepoMirrors and from ParseSourcePolicy alike: it used to be
// skipped, or passed on to apt's sources as it was.
func TestRepoMirrorsRefuses(t *testing.T) {
	const exploit = `http://m/debian\nhttp://m/debian\040file:/x\nSigned-By:\040Trusted:yes`
	for _, tc := range []struct {
		sel, to string
		mt      spb.MatchType
		want    string
	}{
		{sel: "http://deb.debian.org/debian", to: exploit, mt: spb.MatchType_EXACT, want: `character '\\' at byte 15`},
		{sel: "http://deb.debian.org/debian/*", to: exploit + "${1}", want: `character '\\' at byte 15`},
		{sel: "http://deb.debian.org/debian", to: "git://m/debian", mt: spb.MatchType_EXACT, want: "only http:// and https://"},
		{sel: "http://deb.debian.org/debian", to: "http://u:p@m/debian", mt: spb.MatchType_EXACT, want: "credentials"},
		{sel: "http://deb.debian.org/debian?x", to: "http://m/debian", mt: spb.MatchType_EXACT, want: `character '?'`},
		{sel: "http://deb.debian.org/debian", to: "http://m/a b", mt: spb.MatchType_EXACT, want: `repository mirror "http://m/a b"`},
		{sel: "http://deb.debian.org/debian", to: "http://m/a\x00b", mt: spb.MatchType_EXACT, want: `repository mirror "http://m/a\x00b"`},
		{sel: "http://deb.debian.org/*/debian", to: "http://m/${1}/debian", want: `one "*", at the end`},
		{sel: "http://*.debian.org/*", to: "http://m/${1}", want: `one "*", at the end`},
		{sel: "http://deb.debian.org/*", to: "http://m/debian", want: `must end in "${1}"`},
		{sel: "http://deb.debian.org/*", to: "http://m/$1/debian/${1}", want: `must end in "${1}"`},
		{sel: "http://deb.debian.org/(.*)", to: "http://m/$1", mt: spb.MatchType_REGEX, want: "cannot apply a REGEX one"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			p := &spb.Policy{Rules: []*spb.Rule{
				{Action: spb.PolicyAction_ALLOW, Selector: &spb.Selector{Identifier: "http://ok.example/*"}},
				{Action: spb.PolicyAction_CONVERT, Selector: &spb.Selector{Identifier: tc.sel, MatchType: tc.mt}, Updates: &spb.Update{Identifier: tc.to}},
			}}
			ms, err := RepoMirrors(p)
			pe, ok := errors.AsType[*SourcePolicyError](err)
			if !ok || pe.Rule != 2 || pe.Action != "CONVERT" || pe.Identifier != tc.sel || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RepoMirrors = %+v, %v; want rule 2 (CONVERT %s) refused: %s", ms, err, tc.sel, tc.want)
			}
			dt, jerr := json.Marshal(p)
			if jerr != nil {
				t.Fatal(jerr)
			}
			_, err = ParseSourcePolicy(dt, "p.json")
			if pe, ok := errors.AsType[*SourcePolicyError](err); !ok || pe.Filename != "p.json" || pe.Rule != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseSourcePolicy: %v; want rule 2 of p.json refused: %s", err, tc.want)
			}
		})
	}
}
