package apkinstall

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"

	"github.com/darn-dev/darn/distros/apk"
)

// entryFiles reads the files of an installed record (F: directories, R:
// files below the last F:, each R:'s Z: checksum): path → checksum.
func entryFiles(e apk.Entry) map[string]string {
	out := map[string]string{}
	dir, last := "", ""
	for _, l := range e.Lines {
		switch {
		case strings.HasPrefix(l, "F:"):
			dir, last = l[2:], ""
		case strings.HasPrefix(l, "R:"):
			last = path.Join(dir, l[2:])
			out[last] = ""
		case strings.HasPrefix(l, "Z:") && last != "":
			out[last] = l[2:]
		}
	}
	return out
}

// record is the installed database's record of a package installed from
// p with files: apk's own field order, then the files grouped under
// their directories (F:, M: for a directory that is not root's 0755, R:,
// a: for a file that is not root's 0644, Z:).
func record(p *goapk.Package, files []File) []string {
	lines := []string{
		"C:" + p.ChecksumString(), "P:" + p.Name, "V:" + p.Version, "A:" + p.Arch,
		"S:" + strconv.FormatUint(p.Size, 10), "I:" + strconv.FormatUint(p.InstalledSize, 10),
	}
	for _, kv := range [][2]string{{"T:", p.Description}, {"U:", p.URL}, {"L:", p.License}, {"o:", p.Origin}, {"m:", p.Maintainer}} {
		if kv[1] != "" {
			lines = append(lines, kv[0]+kv[1])
		}
	}
	if !p.BuildTime.IsZero() {
		lines = append(lines, "t:"+strconv.FormatInt(p.BuildTime.Unix(), 10))
	}
	if p.RepoCommit != "" {
		lines = append(lines, "c:"+p.RepoCommit)
	}
	for _, f := range []struct {
		key  string
		vals []string
	}{{"D:", p.Dependencies}, {"p:", p.Provides}, {"r:", p.Replaces}, {"i:", p.InstallIf}} {
		if len(f.vals) > 0 {
			lines = append(lines, f.key+strings.Join(f.vals, " "))
		}
	}
	if p.ProviderPriority != 0 {
		lines = append(lines, "k:"+strconv.FormatUint(p.ProviderPriority, 10))
	}
	return append(lines, fileLines(files)...)
}

// fileLines groups files under their directories, in path order.
func fileLines(files []File) []string {
	dirs := map[string][]File{}
	var names []string
	for _, f := range files {
		d := f.Name
		if !f.Dir {
			d = path.Dir(f.Name)
		}
		if _, ok := dirs[d]; !ok {
			names = append(names, d)
			dirs[d] = nil
		}
		if f.Dir {
			dirs[d] = append([]File{f}, dirs[d]...)
		} else {
			dirs[d] = append(dirs[d], f)
		}
	}
	slices.Sort(names)
	var out []string
	for _, d := range names {
		if d == "." {
			continue
		}
		out = append(out, "F:"+d)
		for _, f := range dirs[d] {
			out = append(out, fileLine(f)...)
		}
	}
	return out
}

// fileLine is the lines of one directory or file.
func fileLine(f File) []string {
	if f.Dir {
		if f.UID != 0 || f.GID != 0 || f.Mode != 0o755 {
			return []string{fmt.Sprintf("M:%d:%d:%04o", f.UID, f.GID, f.Mode)}
		}
		return nil
	}
	out := []string{"R:" + path.Base(f.Name)}
	if f.UID != 0 || f.GID != 0 || f.Mode != 0o644 {
		out = append(out, fmt.Sprintf("a:%d:%d:%04o", f.UID, f.GID, f.Mode))
	}
	if f.Checksum != "" {
		out = append(out, "Z:"+f.Checksum)
	}
	return out
}

// rewrite returns the database with each upgraded record replaced in
// place and new records appended; every other record stays as it was.
func rewrite(entries []apk.Entry, records map[string][]string, order []string) []byte {
	var b strings.Builder
	done := map[string]bool{}
	for _, e := range entries {
		lines := e.Lines
		if r, ok := records[e.Name]; ok {
			lines, done[e.Name] = r, true
		}
		b.WriteString(strings.Join(lines, "\n") + "\n\n")
	}
	for _, n := range order {
		if !done[n] {
			b.WriteString(strings.Join(records[n], "\n") + "\n\n")
		}
	}
	return []byte(b.String())
}
