package main

import (
	"regexp"
	"strings"
	"time"
)

// phase is a named part of a solve's wall time, in seconds.
type phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// stepMark ends a phase inside a step: at the first log line, after the
// previous phase's end, that End matches; a nil End means the step's last
// log line. A phase whose line never comes ends where the previous did
// (zero length), so that a cached download or a quiet step still splits.
type stepMark struct {
	Phase string
	End   *regexp.Regexp
}

// stepKind says how to find a solve's main step and split it.
type stepKind struct {
	// Step matches the main step's vertex name; List, when set, a step
	// that lists what to upgrade before it (part of the probe).
	Step, List *regexp.Regexp
	// Marks split the step; Rest names what follows its last mark.
	Marks []stepMark
	Rest  string
	// Before names what precedes the step: darn's probe, or the floor's
	// pull of the image ("probe" when empty).
	Before string
}

// The vertex names darn gives its steps (llb.Named: "[patch PLATFORM] …"),
// and the floors' own.
var (
	darnUpgrade = regexp.MustCompile(`^\[patch [^\]]+\] (apt-get install|unpack|dnf --installroot install|[a-z]+ install|darn-apk upgrade) `)
	darnList    = regexp.MustCompile(`^\[patch [^\]]+\] (list |darn-apk upgradable)`)
	floorStep   = regexp.MustCompile(`^\[bench floor\] `)
)

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// The phase splits: darn's apt step in the image (install.sh) and from a
// tooling image (unpack.sh), darn's rpm and apk steps, and the floors,
// whose scripts print "darn-bench: PHASE" lines of their own.
var (
	aptInImage = stepKind{Step: darnUpgrade, List: darnList, Rest: "clean-up", Marks: []stepMark{
		{"index refresh", re(`^Reading package lists`)},
		{"pin", re(`^darn: installing`)},
		{"download", re(`^Fetched `)},
		{"install", nil},
	}}
	aptTooling = stepKind{Step: darnUpgrade, List: darnList, Rest: "unpack+clean-up", Marks: []stepMark{
		{"index refresh", re(`^Reading package lists`)},
		{"pin", re(`^darn: unpacking`)},
		{"download", nil},
	}}
	rpmInImage = stepKind{Step: darnUpgrade, List: darnList, Rest: "clean-up", Marks: []stepMark{
		{"index refresh", re(`^darn: installing`)}, {"download", re(`^Running transaction`)}, {"install", nil},
	}}
	apkTooling = stepKind{Step: darnUpgrade, List: darnList, Rest: "install", Marks: []stepMark{}}
	floorApt   = stepKind{Step: floorStep, Rest: "rest", Before: "pull", Marks: []stepMark{
		{"index refresh", re(`^darn-bench: install`)}, {"download", re(`^Fetched `)}, {"install", re(`^darn-bench: done`)},
	}}
	floorUnpack = stepKind{Step: floorStep, Rest: "rest", Before: "pull", Marks: []stepMark{
		{"index refresh", re(`^darn-bench: download`)}, {"download", re(`^darn-bench: unpack`)}, {"unpack", re(`^darn-bench: done`)},
	}}
	floorRPM = stepKind{Step: floorStep, Rest: "rest", Before: "pull", Marks: []stepMark{
		{"index refresh", re(`^Dependencies resolved`)}, {"download", re(`^Running transaction`)}, {"install", re(`^darn-bench: done`)},
	}}
)

// phases splits a solve's wall time: what comes before the main step
// ("probe": resolving, pulling and reading the image; with a listing step,
// "list" apart), the step's own phases, what follows it until the export
// ("read-back"), and the export. Without a main step that ran (a cached
// or empty patch) everything before the export is the probe.
func (k stepKind) phases(tl *timeline) []phase {
	var out []phase
	before := k.Before
	if before == "" {
		before = "probe"
	}
	add := func(name string, from, to time.Time) {
		if d := to.Sub(from).Seconds(); d > 0 && !from.IsZero() && !to.IsZero() {
			out = addPhase(out, name, d)
		}
	}
	export := tl.exportStart()
	step := firstRun(tl.find(k.Step.MatchString))
	if step == nil {
		add(before, tl.Start, export)
		add("export", export, tl.End)
		return out
	}
	probeEnd := step.Started
	if k.List != nil {
		if l := firstRun(tl.find(k.List.MatchString)); l != nil && l.Started.Before(step.Started) {
			add("probe", tl.Start, l.Started)
			add("list", l.Started, l.Completed)
			add("probe", l.Completed, step.Started)
			probeEnd = time.Time{}
		}
	}
	add(before, tl.Start, probeEnd)
	out = append(out, k.split(tl, step)...)
	add("read-back", step.Completed, export)
	add("export", export, tl.End)
	return out
}

// split splits the main step by its log lines.
func (k stepKind) split(tl *timeline, step *vertex) []phase {
	lines := tl.linesOf(step.Digest)
	var out []phase
	at, i := step.Started, 0
	for _, m := range k.Marks {
		end := at
		if m.End == nil && len(lines) > 0 {
			end, i = lines[len(lines)-1].Time, len(lines)
		}
		for j := i; m.End != nil && j < len(lines); j++ {
			if m.End.MatchString(lines[j].Text) {
				end, i = lines[j].Time, j+1
				break
			}
		}
		out = addPhase(out, m.Phase, end.Sub(at).Seconds())
		at = end
	}
	return addPhase(out, k.Rest, step.Completed.Sub(at).Seconds())
}

// addPhase adds seconds to a phase, appending it the first time.
func addPhase(ps []phase, name string, s float64) []phase {
	if s < 0 {
		s = 0
	}
	for i := range ps {
		if ps[i].Name == name {
			ps[i].Seconds += s
			return ps
		}
	}
	return append(ps, phase{Name: name, Seconds: s})
}

// firstRun is the first vertex that ran (was not cached); nil if none.
func firstRun(vs []*vertex) *vertex {
	for _, v := range vs {
		if !v.Cached && !v.Started.IsZero() && !v.Completed.IsZero() {
			return v
		}
	}
	return nil
}

// exportStart is when the first exporter step started; the solve's end
// when nothing was exported.
func (tl *timeline) exportStart() time.Time {
	for _, v := range tl.find(func(n string) bool { return strings.HasPrefix(n, "exporting") }) {
		if !v.Started.IsZero() {
			return v.Started
		}
	}
	return tl.End
}
