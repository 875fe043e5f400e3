package distros

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// eolData is darn's built-in, offline table of release end-of-life dates
// (eol.json: its source and date inside; `make eol-update` refreshes it).
//
//go:embed eol.json
var eolData []byte

// eolTable is eol.json.
type eolTable struct {
	Source   string `json:"source"`
	AsOf     string `json:"asOf"`
	Releases []struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		EOL     string `json:"eol"`
	} `json:"releases"`
	Rolling []string `json:"rolling"`
}

var eolReleases = mustEOL()

func mustEOL() eolTable {
	var t eolTable
	if err := json.Unmarshal(eolData, &t); err != nil {
		panic(fmt.Sprintf("distros: eol.json: %v", err))
	}
	return t
}

// EOLWarnDays is how long before its end of life a release is warned of.
const EOLWarnDays = 90

// The end-of-life states of a release.
const (
	EOLSupported = "supported"
	EOLSoon      = "ending-soon"
	EOLEnded     = "end-of-life"
	EOLRolling   = "rolling"
	EOLUnknown   = "unknown"
)

// EOL is a release's end-of-life status on a given day.
type EOL struct {
	Status string `json:"status"`
	// Date is the end of life, YYYY-MM-DD; empty when unknown or rolling.
	Date string `json:"date,omitempty"`
	// Scanner is set when the report's scanner marked the release as end
	// of life (Trivy's EOSL).
	Scanner bool `json:"scanner,omitempty"`
	// Source names the data: the table's source and date.
	Source string `json:"source,omitempty"`
}

// EOLStatus tells a release's end-of-life status on day now from the
// built-in table (a table version matches VERSION_ID itself or as its
// prefix: "12" matches "12.5", "3.20" matches "3.20.3"); scannerEOSL is
// the report's flag, which makes a release the table does not know, or
// thinks supported, end of life.
func EOLStatus(rel Release, now time.Time, scannerEOSL bool) EOL {
	out := EOL{Status: EOLUnknown, Scanner: scannerEOSL, Source: eolReleases.Source + " (as of " + eolReleases.AsOf + ")"}
	for _, r := range eolReleases.Rolling {
		if r == rel.ID {
			out.Status = EOLRolling
		}
	}
	best := ""
	for _, r := range eolReleases.Releases {
		if r.ID == rel.ID && (rel.VersionID == r.Version || strings.HasPrefix(rel.VersionID, r.Version+".")) && len(r.Version) > len(best) {
			best, out.Date = r.Version, r.EOL
		}
	}
	if out.Date != "" {
		end, _ := time.Parse(time.DateOnly, out.Date)
		switch {
		case !now.Before(end.AddDate(0, 0, 1)):
			out.Status = EOLEnded
		case now.AddDate(0, 0, EOLWarnDays).After(end):
			out.Status = EOLSoon
		default:
			out.Status = EOLSupported
		}
	}
	if scannerEOSL {
		out.Status = EOLEnded
	}
	return out
}

// Message says what a patch of rel should tell the user, or "".
func (e EOL) Message(rel Release) string {
	name := rel.ID + " " + rel.VersionID
	switch e.Status {
	case EOLEnded:
		when := "the scanner marks it end of life"
		if e.Date != "" {
			when = "its security support ended on " + e.Date
		}
		return fmt.Sprintf("%s is end of life (%s): its security updates may be empty or gone, and patching cannot fix what they no longer ship; move to a supported release", name, when)
	case EOLSoon:
		return fmt.Sprintf("%s reaches its end of life on %s: plan the move to a supported release", name, e.Date)
	}
	return ""
}
