package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/darn-dev/darn/report"
)

// Version is the policy schema version this darn reads.
const Version = 1

// Policy is a parsed patch policy: defaults, and per-image rules of which
// the first whose pattern matches the image overrides them.
type Policy struct {
	File string
	Set
	Images []ImageRule
}

// Set is one set of rules; nil fields are unset (an image rule then
// keeps the defaults').
type Set struct {
	Severity        *Rule[string]
	Include         []Rule[string]
	Exclude         []Rule[string]
	Ignore          []Ignore
	FailOnUnfixable *Rule[bool]
}

// ImageRule applies to images whose reference matches Match.
type ImageRule struct {
	Match Rule[string]
	Set
}

// Ignore skips a vulnerability id until Expires (zero: never).
type Ignore struct {
	ID      Rule[string]
	Reason  string
	Expires time.Time
}

// Rule is a value with where it was written, to name it in messages.
type Rule[T any] struct {
	Value T
	Pos   string
}

// String names the rule for messages: "policy.yaml:7:5: exclude linux-*".
func (r Rule[T]) describe(what string) string { return fmt.Sprintf("%s: %s %v", r.Pos, what, r.Value) }

// Parse reads a policy from YAML or JSON (JSON is YAML's subset).
func Parse(file string, dt []byte) (Policy, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(dt))
	err := dec.Decode(&root)
	if err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, fmt.Errorf("%s: %w", file, err)
	}
	p := parser{file: file}
	if len(root.Content) == 0 {
		return Policy{}, fmt.Errorf("%s: empty policy: it needs at least \"version: %d\"", file, Version)
	}
	pol, err := p.policy(root.Content[0])
	if err != nil {
		return Policy{}, err
	}
	pol.File = file
	return pol, nil
}

// parser reads the node tree, naming positions in errors.
type parser struct{ file string }

func (p parser) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", p.file, n.Line, n.Column) }

func (p parser) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s: %s", p.pos(n), fmt.Sprintf(format, args...))
}

// fields walks a mapping, calling set for each known key; an unknown or
// repeated key is an error.
func (p parser) fields(n *yaml.Node, what string, set map[string]func(*yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "%s must be a mapping", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := set[k.Value]
		if !ok {
			return p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(slices.Sorted(mapKeys(set)), ", "))
		}
		if seen[k.Value] {
			return p.errorf(k, "%q is given twice", k.Value)
		}
		seen[k.Value] = true
		if err := f(v); err != nil {
			return err
		}
	}
	return nil
}

func mapKeys(m map[string]func(*yaml.Node) error) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// policy reads the top level: the version, the default set, images.
func (p parser) policy(n *yaml.Node) (Policy, error) {
	var pol Policy
	version := 0
	set := p.setFields(&pol.Set)
	set["version"] = func(v *yaml.Node) error { return p.decode(v, &version, "version") }
	set["images"] = func(v *yaml.Node) error { return p.images(v, &pol.Images) }
	if err := p.fields(n, "the policy", set); err != nil {
		return Policy{}, err
	}
	if version != Version {
		return Policy{}, p.errorf(n, "\"version: %d\" is required (got %d)", Version, version)
	}
	return pol, nil
}

// setFields are the keys of a rule set.
func (p parser) setFields(s *Set) map[string]func(*yaml.Node) error {
	return map[string]func(*yaml.Node) error{
		"severity": func(v *yaml.Node) error { return p.severity(v, &s.Severity) },
		"packages": func(v *yaml.Node) error {
			return p.fields(v, "packages", map[string]func(*yaml.Node) error{
				"include": func(v *yaml.Node) error { return p.globs(v, &s.Include) },
				"exclude": func(v *yaml.Node) error { return p.globs(v, &s.Exclude) },
			})
		},
		"ignore": func(v *yaml.Node) error { return p.ignores(v, &s.Ignore) },
		"fail-on-unfixable": func(v *yaml.Node) error {
			var b bool
			if err := p.decode(v, &b, "fail-on-unfixable"); err != nil {
				return err
			}
			s.FailOnUnfixable = &Rule[bool]{b, p.pos(v)}
			return nil
		},
	}
}

// decode reads a scalar into dst.
func (p parser) decode(v *yaml.Node, dst any, what string) error {
	if v.Kind != yaml.ScalarNode {
		return p.errorf(v, "%s must be a single value", what)
	}
	if err := v.Decode(dst); err != nil {
		return p.errorf(v, "%s: %q is no %T", what, v.Value, dst)
	}
	return nil
}

// severity reads a severity floor.
func (p parser) severity(v *yaml.Node, dst **Rule[string]) error {
	var s string
	if err := p.decode(v, &s, "severity"); err != nil {
		return err
	}
	if !report.ValidSeverity(s) {
		return p.errorf(v, "severity %q: want one of unknown, negligible, low, medium, high, critical", s)
	}
	*dst = &Rule[string]{strings.ToUpper(s), p.pos(v)}
	return nil
}

// globs reads a list of package name patterns (path.Match syntax).
func (p parser) globs(v *yaml.Node, dst *[]Rule[string]) error {
	if v.Kind != yaml.SequenceNode {
		return p.errorf(v, "a list of package name patterns is expected")
	}
	for _, item := range v.Content {
		var g string
		if err := p.decode(item, &g, "package pattern"); err != nil {
			return err
		}
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return p.errorf(item, "bad package pattern %q", g)
		}
		*dst = append(*dst, Rule[string]{g, p.pos(item)})
	}
	return nil
}

// ignores reads the ignored vulnerabilities: id, reason, expires.
func (p parser) ignores(v *yaml.Node, dst *[]Ignore) error {
	if v.Kind != yaml.SequenceNode {
		return p.errorf(v, "ignore must be a list of {id, reason, expires}")
	}
	for _, item := range v.Content {
		var ig Ignore
		var expires string
		err := p.fields(item, "an ignore entry", map[string]func(*yaml.Node) error{
			"id":      func(v *yaml.Node) error { ig.ID.Pos = p.pos(v); return p.decode(v, &ig.ID.Value, "id") },
			"reason":  func(v *yaml.Node) error { return p.decode(v, &ig.Reason, "reason") },
			"expires": func(v *yaml.Node) error { return p.decode(v, &expires, "expires") },
		})
		if err != nil {
			return err
		}
		if ig.ID.Value == "" || strings.TrimSpace(ig.Reason) == "" {
			return p.errorf(item, "an ignore entry needs an id and a reason")
		}
		if expires != "" {
			if ig.Expires, err = time.Parse(time.DateOnly, expires); err != nil {
				return p.errorf(item, "expires %q: want a date, YYYY-MM-DD", expires)
			}
		}
		*dst = append(*dst, ig)
	}
	return nil
}

// images reads the per-image rules.
func (p parser) images(v *yaml.Node, dst *[]ImageRule) error {
	if v.Kind != yaml.SequenceNode {
		return p.errorf(v, "images must be a list of rules with a match pattern")
	}
	for _, item := range v.Content {
		var r ImageRule
		set := p.setFields(&r.Set)
		set["match"] = func(v *yaml.Node) error { r.Match.Pos = p.pos(v); return p.decode(v, &r.Match.Value, "match") }
		if err := p.fields(item, "an image rule", set); err != nil {
			return err
		}
		if _, err := path.Match(r.Match.Value, ""); err != nil || r.Match.Value == "" {
			return p.errorf(item, "an image rule needs a valid match pattern")
		}
		*dst = append(*dst, r)
	}
	return nil
}
