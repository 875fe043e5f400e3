package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

// printSummary prints, per platform, the packages that changed, then where
// the patched image went.
func printSummary(w io.Writer, dt []byte, o imageOptions) error {
	var sums []patch.Summary
	if len(dt) > 0 {
		if err := json.Unmarshal(dt, &sums); err != nil {
			return fmt.Errorf("reading patch summary: %w", err)
		}
	}
	changed := 0
	for _, s := range sums {
		changed += len(s.Changes)
		printPlatform(w, s)
	}
	if changed == 0 {
		fmt.Fprintf(w, "nothing to patch: %s has no reported package with an applicable fix; the image is unchanged\n", o.image)
		return nil
	}
	fmt.Fprintf(w, "patched image: %s%s\n", o.tag, destination(o))
	return nil
}

// printPlatform prints one platform's changes as a table.
func printPlatform(w io.Writer, s patch.Summary) {
	if s.Kept {
		fmt.Fprintf(w, "%s %s: kept as it is (not a platform to patch)\n", s.Platform, s.Image)
		return
	}
	fmt.Fprintf(w, "%s (%s) %s@%s\n", s.Platform, s.OS, s.Image, s.Digest)
	if s.ToolingImage != "" {
		fmt.Fprintf(w, "  no package manager: patched from the tooling image %s@%s\n", s.ToolingImage, s.ToolingDigest)
	}
	if s.Original != "" {
		fmt.Fprintf(w, "  patched before by darn: patched again from the original %s, with every fix so far in one layer\n", s.Original)
	}
	if s.Stacked != "" {
		fmt.Fprintf(w, "  patched before by darn, stacked: %s\n", s.Stacked)
	}
	printSkipped(w, s.Plan)
	for _, it := range s.Plan.Items {
		if it.Action == plan.ActionLeftOut {
			fmt.Fprintf(w, "  left out by the policy: %s (%s)\n", it.Name, it.Reason)
		}
	}
	// Said here too: a builder's warning on a finished step may not show.
	for _, msg := range patch.LeftOutButChanged(s.Plan, s.Changes) {
		fmt.Fprintf(w, "  %s\n", msg)
	}
	if s.EOL != nil && (s.EOL.Status == distros.EOLEnded || s.EOL.Status == distros.EOLSoon) {
		fmt.Fprintf(w, "  end of life: %s %s\n", s.EOL.Status, s.EOL.Date)
	}
	for _, it := range s.BelowFixed {
		fmt.Fprintf(w, "  BELOW FIXED VERSION (kept by --ignore-errors): %s needs >= %s\n", it.Name, it.Fixed)
	}
	if len(s.Changes) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  PACKAGE\tFROM\tTO\tFIXES")
	for _, c := range s.Changes {
		fixes := strings.Join(c.Fixes, " ")
		if !c.Planned {
			fixes = "(dependency)"
		}
		from := c.From
		if from == "" {
			from = "(new)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Name, from, c.To, fixes)
	}
	_ = tw.Flush()
}

// destination says where the image was exported.
func destination(o imageOptions) string {
	var where []string
	if o.push {
		where = append(where, "pushed")
	}
	if o.load {
		where = append(where, "loaded into the Docker daemon")
	}
	if len(o.outputs) > 0 {
		where = append(where, "exported: "+strings.Join(o.outputs, "; "))
	}
	if len(where) == 0 {
		return " (kept in the builder; use --push, --load or --output to export it)"
	}
	return " (" + strings.Join(where, ", ") + ")"
}

// printSkipped lists, by reason, the reported packages left as they are.
func printSkipped(w io.Writer, pl plan.Plan) {
	byAction := map[plan.Action][]string{}
	for _, it := range pl.Items {
		byAction[it.Action] = append(byAction[it.Action], it.Name)
	}
	var open []string
	for _, it := range pl.Items {
		if it.Action == plan.ActionUpgrade {
			for _, id := range it.Unfixed {
				open = append(open, id+" ("+it.Name+")")
			}
		}
	}
	if len(open) > 0 {
		fmt.Fprintf(w, "  still open, no fix yet: %s\n", strings.Join(open, ", "))
	}
	for _, a := range []struct {
		action plan.Action
		text   string
	}{
		{plan.ActionAlreadyFixed, "already fixed"},
		{plan.ActionNotInstalled, "reported but not installed"},
		{plan.ActionNoFix, "no fix available yet"},
	} {
		if names := byAction[a.action]; len(names) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", a.text, strings.Join(names, ", "))
		}
	}
}
