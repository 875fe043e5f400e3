package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/solver/pb"
	srctypes "github.com/moby/buildkit/source/types"
	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/report"
)

// SourcePolicyError is an error in a BuildKit source policy: JSON that does
// not parse (Line and Column are set), or a rule that BuildKit would reject
// or could never apply (Rule is set). Several rule errors come joined with
// [errors.Join]; find each with [errors.As].
type SourcePolicyError struct {
	Filename string
	// Line and Column are the 1-based position of a JSON error; Column
	// counts bytes. Both are 0 for errors in a rule.
	Line, Column int
	// Rule is the 1-based index of the offending rule; 0 for the file.
	Rule int
	// Action and Identifier label the rule, as far as they are known.
	Action, Identifier string
	Err                error
}

// Error returns "source policy FILE: rule N (ACTION IDENTIFIER): cause",
// or "source policy FILE: line L, column C: cause" for JSON errors.
func (e *SourcePolicyError) Error() string {
	s := strings.TrimSpace("source policy "+e.Filename) + ": "
	if e.Line > 0 {
		s += fmt.Sprintf("line %d, column %d: ", e.Line, e.Column)
	}
	if label := strings.TrimSpace(e.Action + " " + e.Identifier); e.Rule > 0 && label != "" {
		s += fmt.Sprintf("rule %d (%s): ", e.Rule, label)
	} else if e.Rule > 0 {
		s += fmt.Sprintf("rule %d: ", e.Rule)
	}
	return s + e.Err.Error()
}

// Unwrap returns the cause, such as a [*json.SyntaxError].
func (e *SourcePolicyError) Unwrap() error { return e.Err }

// jsonPolicy is the file format: spb.Policy as encoding/json reads it in
// buildx and buildctl. Rules stay raw so that each error names its rule.
type jsonPolicy struct {
	Version int64             `json:"version,omitempty"`
	Rules   []json.RawMessage `json:"rules,omitempty"`
}

// jsonRule is one rule. Enums stay raw: spb's decoding reports an unknown
// action as `unrecognized enum ALLOW value "CONVRT"`, naming the wrong enum.
type jsonRule struct {
	Action   json.RawMessage `json:"action,omitempty"`
	Selector *jsonSelector   `json:"selector,omitempty"`
	Updates  *jsonUpdate     `json:"updates,omitempty"`
}

type jsonSelector struct {
	Identifier string `json:"identifier"`
	// buildx and buildctl read spb's "match_type" and silently ignore the
	// protojson spelling "matchType", so darn rejects the latter.
	MatchType   json.RawMessage  `json:"match_type,omitempty"`
	Constraints []jsonConstraint `json:"constraints,omitempty"`
}

type jsonConstraint struct {
	Key       string          `json:"key"`
	Value     string          `json:"value"`
	Condition json.RawMessage `json:"condition,omitempty"`
}

type jsonUpdate struct {
	Identifier string            `json:"identifier,omitempty"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

// ParseSourcePolicy reads a BuildKit source policy in the JSON format of
// buildx's EXPERIMENTAL_BUILDKIT_SOURCE_POLICY and buildctl's
// --source-policy-file, and checks every rule: known action and match type,
// a selector BuildKit's engine compiles and that can match a source, CONVERT
// with a target and ALLOW/DENY without, image references as BuildKit writes
// them, no endless conversions, and http(s) CONVERT rules that
// [RepoMirrors] reads as valid repository mirrors. Errors are
// [*SourcePolicyError]s.
func ParseSourcePolicy(dt []byte, filename string) (*spb.Policy, error) {
	p, err := decodePolicy(dt, filename)
	if err != nil {
		return nil, err
	}
	if err := validatePolicy(p, filename); err != nil {
		return nil, err
	}
	return p, nil
}

// MarshalSourcePolicy writes p, indented, in the format ParseSourcePolicy
// reads, spelling out every action and match type. It refuses policies
// that ParseSourcePolicy would reject.
func MarshalSourcePolicy(p *spb.Policy) ([]byte, error) {
	if p == nil {
		return nil, errors.New("marshalling source policy: no policy")
	}
	if err := validatePolicy(p, ""); err != nil {
		return nil, err
	}
	out := struct {
		Version int64      `json:"version,omitempty"`
		Rules   []jsonRule `json:"rules"`
	}{Version: p.Version, Rules: make([]jsonRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		out.Rules = append(out.Rules, toJSONRule(r))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Regular expressions keep their < > & readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("marshalling source policy: %w", err)
	}
	return b.Bytes(), nil
}

// PinnedImage is an image and the digest it resolved to.
type PinnedImage struct {
	// Ref names the image, e.g. debian:12 or docker.io/library/debian:12.
	Ref    string
	Digest digest.Digest
}

// PinPolicy returns a source policy pinning every image to its digest: one
// EXACT CONVERT rule per image, from docker-image://<normalized ref> to
// docker-image://<normalized ref>@<digest>, sorted by reference. An image
// named twice with one digest makes one rule; a reference that already
// carries its digest needs none. Two digests for one image are an error.
func PinPolicy(images []PinnedImage) (*spb.Policy, error) {
	pins := map[string]digest.Digest{}
	for _, img := range images {
		ref, err := pinnable(img)
		if err != nil {
			return nil, err
		}
		if d, ok := pins[ref]; ok && d != img.Digest {
			return nil, fmt.Errorf("pinning %s: it resolved to two digests, %s and %s", ref, d, img.Digest)
		}
		if ref != "" {
			pins[ref] = img.Digest
		}
	}
	p := &spb.Policy{}
	for _, ref := range slices.Sorted(maps.Keys(pins)) {
		p.Rules = append(p.Rules, &spb.Rule{
			Action:   spb.PolicyAction_CONVERT,
			Selector: &spb.Selector{Identifier: imageIdentifier(ref), MatchType: spb.MatchType_EXACT},
			Updates:  &spb.Update{Identifier: imageIdentifier(ref + "@" + pins[ref].String())},
		})
	}
	return p, nil
}

// pinnable returns the reference to pin as BuildKit names it (normalized,
// tagged), or "" for a reference that already names img.Digest.
func pinnable(img PinnedImage) (string, error) {
	if err := img.Digest.Validate(); err != nil {
		return "", fmt.Errorf("pinning %s: digest %q: %w", img.Ref, img.Digest, err)
	}
	named, err := reference.ParseNormalizedNamed(img.Ref)
	if err != nil {
		return "", fmt.Errorf("pinning %s: %w", img.Ref, err)
	}
	if d, ok := named.(reference.Digested); ok {
		if d.Digest() != img.Digest {
			return "", fmt.Errorf("pinning %s: the reference names digest %s, not %s", img.Ref, d.Digest(), img.Digest)
		}
		return "", nil
	}
	return reference.TagNameOnly(named).String(), nil
}

// ConvertSource returns the identifier BuildKit uses for a source under p,
// e.g. docker-image://docker.io/library/debian:12@sha256:… for a pinned
// image, by running BuildKit's own policy engine. A denied source fails
// with an error wrapping [sourcepolicy.ErrSourceDenied].
func ConvertSource(p *spb.Policy, identifier string) (string, error) {
	if p == nil {
		return identifier, nil
	}
	op := &pb.SourceOp{Identifier: identifier}
	if _, err := sourcepolicy.NewEngine([]*spb.Policy{p}).Evaluate(context.Background(), op); err != nil {
		return "", fmt.Errorf("applying source policy to %s: %w", identifier, err)
	}
	return op.Identifier, nil
}

// imageIdentifier is the source identifier of an image reference.
func imageIdentifier(ref string) string { return srctypes.DockerImageScheme + "://" + ref }

// decodePolicy decodes the file, then every rule with an error of its own.
func decodePolicy(dt []byte, filename string) (*spb.Policy, error) {
	var jp jsonPolicy
	if err := strictDecode(dt, &jp); err != nil {
		e := &SourcePolicyError{Filename: filename, Err: describeJSON(err)}
		e.Line, e.Column = jsonPosition(dt, err)
		return nil, e
	}
	p := &spb.Policy{Version: jp.Version}
	var errs []error
	for i, raw := range jp.Rules {
		r, err := decodeRule(raw)
		if err != nil {
			action, id := rawLabel(raw)
			errs = append(errs, &SourcePolicyError{Filename: filename, Rule: i + 1, Action: action, Identifier: id, Err: err})
			continue
		}
		p.Rules = append(p.Rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// strictDecode decodes like encoding/json, which reports syntax and type
// errors with offsets, then again rejecting unknown keys: a misspelt key
// would otherwise be ignored, as buildx ignores it.
func strictDecode(dt []byte, v any) error {
	if err := json.Unmarshal(dt, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(dt))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeRule turns one JSON rule into BuildKit's type.
func decodeRule(raw json.RawMessage) (*spb.Rule, error) {
	var jr jsonRule
	if err := strictDecode(raw, &jr); err != nil {
		return nil, describeJSON(err)
	}
	if len(jr.Action) == 0 && jr.Updates != nil {
		return nil, errors.New(`"action" is missing, which BuildKit reads as ALLOW, but the rule has updates: write "action": "CONVERT"`)
	}
	action, err := parseEnum(jr.Action, spb.PolicyAction_name, "action")
	if err != nil {
		return nil, err
	}
	r := &spb.Rule{Action: spb.PolicyAction(action)}
	if jr.Selector != nil {
		if r.Selector, err = jr.Selector.toPB(); err != nil {
			return nil, err
		}
	}
	if jr.Updates != nil {
		r.Updates = &spb.Update{Identifier: jr.Updates.Identifier, Attrs: jr.Updates.Attrs}
	}
	return r, nil
}

func (s *jsonSelector) toPB() (*spb.Selector, error) {
	mt, err := parseEnum(s.MatchType, spb.MatchType_name, "selector.match_type")
	if err != nil {
		return nil, err
	}
	sel := &spb.Selector{Identifier: s.Identifier, MatchType: spb.MatchType(mt)}
	for i, c := range s.Constraints {
		cond, err := parseEnum(c.Condition, spb.AttrMatch_name, fmt.Sprintf("selector.constraints[%d].condition", i))
		if err != nil {
			return nil, err
		}
		sel.Constraints = append(sel.Constraints, &spb.AttrConstraint{Key: c.Key, Value: c.Value, Condition: spb.AttrMatch(cond)})
	}
	return sel, nil
}

// parseEnum reads an enum as spb's UnmarshalJSON does, by name or number;
// absent or null is the zero value, as in BuildKit.
func parseEnum(raw json.RawMessage, names map[int32]string, field string) (int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		for v, n := range names {
			if n == name {
				return v, nil
			}
		}
	} else if v, err := strconv.ParseInt(string(raw), 10, 32); err == nil {
		if _, ok := names[int32(v)]; ok {
			return int32(v), nil
		}
	}
	valid := make([]string, len(names))
	for v, n := range names {
		valid[v] = n
	}
	return 0, fmt.Errorf("%s %s: want one of %s", field, raw, strings.Join(valid, ", "))
}

// rawLabel names a rule that did not decode, as far as it can be read.
func rawLabel(raw json.RawMessage) (action, identifier string) {
	var jr jsonRule
	// Partial reads are the point: whatever decodes labels the rule.
	_ = json.Unmarshal(raw, &jr)
	if jr.Selector != nil {
		identifier = jr.Selector.Identifier
	}
	return strings.Trim(string(jr.Action), `"`), identifier
}

// describeJSON words decoding errors without darn's Go types, and says
// what to write instead of the key buildx ignores.
func describeJSON(err error) error {
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return err
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		want := map[reflect.Kind]string{reflect.String: "a string", reflect.Slice: "an array", reflect.Int64: "an integer"}[te.Type.Kind()]
		if want == "" {
			want = "an object"
		}
		return fmt.Errorf("%s: want %s, got %s", te.Field, want, te.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.Contains(msg, `unknown field "matchType"`) {
		msg += `: BuildKit's key is "match_type" (buildx and buildctl ignore "matchType" and match as WILDCARD)`
	}
	return errors.New(msg)
}

// jsonPosition is the 1-based line and column of a JSON error; 0, 0 for
// errors without one.
func jsonPosition(dt []byte, err error) (line, col int) {
	line, col, _ = report.Locate(dt, err)
	return line, col
}

// toJSONRule is the file form of a validated rule.
func toJSONRule(r *spb.Rule) jsonRule {
	jr := jsonRule{
		Action: quote(r.Action.String()),
		Selector: &jsonSelector{
			Identifier: r.Selector.Identifier,
			MatchType:  quote(r.Selector.MatchType.String()),
		},
	}
	for _, c := range r.Selector.Constraints {
		jr.Selector.Constraints = append(jr.Selector.Constraints, jsonConstraint{Key: c.Key, Value: c.Value, Condition: quote(c.Condition.String())})
	}
	if r.Updates != nil {
		jr.Updates = &jsonUpdate{Identifier: r.Updates.Identifier, Attrs: r.Updates.Attrs}
	}
	return jr
}

func quote(s string) json.RawMessage { return json.RawMessage(strconv.Quote(s)) }

// RepoMirrors reads a source policy's CONVERT rules whose selectors are
// http(s) URLs as repository mirrors for the package manager, so one
// policy file can redirect both images and repositories. BuildKit never
// applies these rules itself: apt fetches inside a build step, not as a
// BuildKit source. An EXACT selector, or a WILDCARD one without "*", maps
// that URL prefix; a WILDCARD selector ending in "*" maps its prefix to the
// update's prefix before "${1}". Rules that only set attrs (such as
// http.checksum) redirect nothing and are not mirrors.
//
// Every mirror is validated as [distros.NewMirror] validates the
// --repo-mirror flag. A rule that cannot be read as a valid mirror is a
// [*SourcePolicyError] naming it, never skipped: apt would otherwise fetch
// from a place the policy did not say, or from one it should not.
func RepoMirrors(p *spb.Policy) ([]distros.Mirror, error) {
	var (
		out  []distros.Mirror
		errs []error
	)
	for i, r := range p.GetRules() {
		m, ok, err := repoMirror(r)
		switch {
		case err != nil:
			errs = append(errs, ruleError("", i, r, err))
		case ok:
			out = append(out, m)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// repoMirror reads one rule as a repository mirror; ok is false for rules
// that are not http(s) CONVERT rules with an updates.identifier.
func repoMirror(r *spb.Rule) (m distros.Mirror, ok bool, err error) {
	sel := r.GetSelector()
	id, to := sel.GetIdentifier(), r.GetUpdates().GetIdentifier()
	if r.GetAction() != spb.PolicyAction_CONVERT || to == "" || !isHTTP(id) {
		return distros.Mirror{}, false, nil
	}
	switch mt := sel.GetMatchType(); {
	case mt == spb.MatchType_WILDCARD && strings.Contains(id, "*"):
		prefix, ok := strings.CutSuffix(id, "*")
		if !ok || strings.Contains(prefix, "*") {
			return distros.Mirror{}, false, errors.New(`a WILDCARD repository mirror takes one "*", at the end of selector.identifier: darn replaces URL prefixes`)
		}
		target, ok := cutTemplate(to)
		if !ok {
			return distros.Mirror{}, false, errors.New(`updates.identifier of a WILDCARD repository mirror must end in "${1}", the rest of the URL, and hold no other "$"`)
		}
		id, to = prefix, target
	case mt == spb.MatchType_REGEX:
		return distros.Mirror{}, false, errors.New("darn reads http(s) CONVERT rules as repository mirrors, and cannot apply a REGEX one to apt's sources: use EXACT, or WILDCARD ending in \"*\"")
	}
	m, err = distros.NewMirror(id, to)
	if err != nil {
		return distros.Mirror{}, false, fmt.Errorf("reading the rule as a repository mirror: %w", err)
	}
	return m, true, nil
}

// cutTemplate returns a WILDCARD update's prefix before its final "${1}"
// or "$1"; ok is false when it has none, or another "$".
func cutTemplate(to string) (prefix string, ok bool) {
	for _, t := range []string{"${1}", "$1"} {
		if p, found := strings.CutSuffix(to, t); found && !strings.Contains(p, "$") {
			return p, true
		}
	}
	return "", false
}

func isHTTP(id string) bool {
	return strings.HasPrefix(id, srctypes.HTTPScheme+"://") || strings.HasPrefix(id, srctypes.HTTPSScheme+"://")
}
