package rpm

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/darn-dev/darn/plan"
)

// candidate is one version the repositories offer.
type candidate struct {
	name, evr, arch string
}

// Pin chooses, for each upgrade of the plan, the lowest version the
// repositories offer at or above its fix: a higher one would be an
// unrelated upgrade. The answer is the Available step's.
func (f Family) Pin(p plan.Plan, answer []byte, skipMissing bool) (plan.Plan, error) {
	offered, err := parseAvailable(answer)
	if err != nil {
		return plan.Plan{}, err
	}
	out := plan.Plan{Items: slices.Clone(p.Items)}
	var missing []string
	for i, it := range out.Items {
		if it.Action != plan.ActionUpgrade {
			continue
		}
		v, err := lowestAtOrAbove(offered[it.Name], it.Fixed)
		if err != nil {
			return plan.Plan{}, fmt.Errorf("choosing a version of %s: %w", it.Name, err)
		}
		if v == "" {
			missing = append(missing, it.Name+">="+it.Fixed)
			out.Items[i].Action = plan.ActionUnavailable
			continue
		}
		out.Items[i].Version = v
	}
	if len(missing) > 0 && !skipMissing {
		return plan.Plan{}, fmt.Errorf("no version available from the image's repositories for: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// ParseUpgradable reads the Upgradable step's answer: the newest version
// offered of each package.
func (Family) ParseUpgradable(dt []byte) (map[string]string, error) {
	offered, err := parseAvailable(dt)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, versions := range offered {
		newest := ""
		for _, v := range versions {
			if newest == "" {
				newest = v
			} else if c, err := (Versions{}).Compare(v, newest); err == nil && c > 0 {
				newest = v
			}
		}
		out[name] = newest
	}
	return out, nil
}

// lowestAtOrAbove returns the lowest of versions at or above floor.
func lowestAtOrAbove(versions []string, floor string) (string, error) {
	best := ""
	for _, v := range versions {
		c, err := Versions{}.Compare(v, floor)
		if err != nil {
			return "", err
		}
		if c < 0 {
			continue
		}
		if best == "" {
			best = v
		} else if c, err := (Versions{}).Compare(v, best); err == nil && c < 0 {
			best = v
		}
	}
	return best, nil
}

// parseAvailable reads the Available step's answer, "manager NAME" then
// the package manager's own listing, into name → versions offered (source
// packages left out).
func parseAvailable(dt []byte) (map[string][]string, error) {
	head, body, _ := bytes.Cut(dt, []byte("\n"))
	mgr, ok := strings.CutPrefix(string(head), "manager ")
	if !ok {
		return nil, errors.New("reading the available versions: no manager line")
	}
	var cands []candidate
	var err error
	switch mgr {
	case "dnf":
		cands, err = parseColumns(body, dnfLine, false)
	case "yum", "tdnf":
		cands, err = parseColumns(body, listLine, true)
	case "microdnf":
		cands, err = parseColumns(body, nevraLine, false)
	case "zypper":
		cands, err = parseZypperXML(body)
	default:
		return nil, fmt.Errorf("reading the available versions: unknown package manager %q", mgr)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the available versions (%s): %w", mgr, err)
	}
	return byName(cands), nil
}

// byName groups candidates, binary packages with valid names and
// versions only, their versions sorted and unique.
func byName(cands []candidate) map[string][]string {
	out := map[string][]string{}
	for _, c := range cands {
		if c.arch == "src" || c.arch == "nosrc" || !nameRE.MatchString(c.name) || checkVersion(c.evr) != nil {
			continue
		}
		out[c.name] = append(out[c.name], c.evr)
	}
	for name, vs := range out {
		slices.Sort(vs)
		out[name] = slices.Compact(vs)
	}
	return out
}

// parseColumns reads a listing line by line with parse; lines it does not
// know (headers, notes) are skipped. With wrapped, a line of one word is
// joined with the next: yum and tdnf wrap a long name onto a line of its
// own.
func parseColumns(body []byte, parse func(fields []string) (candidate, bool), wrapped bool) ([]candidate, error) {
	var out []candidate
	var pending []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		fields := append(pending, strings.Fields(sc.Text())...)
		pending = nil
		if wrapped && len(fields) == 1 && strings.Contains(fields[0], ".") && !strings.HasSuffix(fields[0], ":") {
			pending = fields
			continue
		}
		if c, ok := parse(fields); ok {
			out = append(out, c)
		}
	}
	return out, sc.Err()
}

// dnfLine reads "NAME EPOCH:VERSION-RELEASE ARCH" (dnf repoquery --qf).
func dnfLine(f []string) (candidate, bool) {
	if len(f) != 3 {
		return candidate{}, false
	}
	return candidate{name: f[0], evr: strings.TrimPrefix(f[1], "0:"), arch: f[2]}, true
}

// listLine reads "NAME.ARCH [EPOCH:]VERSION-RELEASE REPO" (yum list, tdnf
// list).
func listLine(f []string) (candidate, bool) {
	if len(f) < 2 {
		return candidate{}, false
	}
	i := strings.LastIndex(f[0], ".")
	if i <= 0 || !strings.Contains(f[1], "-") {
		return candidate{}, false
	}
	return candidate{name: f[0][:i], evr: strings.TrimPrefix(f[1], "0:"), arch: f[0][i+1:]}, true
}

// nevraLine reads "NAME-[EPOCH:]VERSION-RELEASE.ARCH" (microdnf repoquery).
func nevraLine(f []string) (candidate, bool) {
	if len(f) != 1 {
		return candidate{}, false
	}
	s := f[0]
	dot := strings.LastIndex(s, ".")
	if dot <= 0 {
		return candidate{}, false
	}
	nevr, arch := s[:dot], s[dot+1:]
	r := strings.LastIndex(nevr, "-")
	if r <= 0 {
		return candidate{}, false
	}
	v := strings.LastIndex(nevr[:r], "-")
	if v <= 0 {
		return candidate{}, false
	}
	return candidate{name: nevr[:v], evr: strings.TrimPrefix(nevr[v+1:], "0:"), arch: arch}, true
}

// parseZypperXML reads zypper's --xmlout search --details: one solvable
// per version and repository.
func parseZypperXML(body []byte) ([]candidate, error) {
	var doc struct {
		Solvables []struct {
			Name    string `xml:"name,attr"`
			Edition string `xml:"edition,attr"`
			Arch    string `xml:"arch,attr"`
			Kind    string `xml:"kind,attr"`
		} `xml:"search-result>solvable-list>solvable"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var out []candidate
	for _, s := range doc.Solvables {
		if s.Kind == "" || s.Kind == "package" {
			out = append(out, candidate{name: s.Name, evr: s.Edition, arch: s.Arch})
		}
	}
	return out, nil
}
