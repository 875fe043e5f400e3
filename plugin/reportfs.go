package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
)

// reportFS opens what the builder may read of --report, and returns the
// frontend's report option for it: for a file, that file alone; for a
// directory, the regular *.json files directly inside it, which are all
// the frontend reads (one report per platform). A report often sits next
// to keys and sources, and the builder may be remote: the rest of the
// directory is not shared, and symbolic links inside it are not followed.
// fsutil filters both what BuildKit walks and what it may open.
func reportFS(path string) (fsutil.FS, string, error) {
	dir, file, names, err := reportMount(path)
	if err != nil {
		return nil, "", err
	}
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, "", fmt.Errorf("opening report directory %s: %w", dir, err)
	}
	include := make([]string, len(names))
	for i, n := range names {
		include[i] = literalPattern(n)
	}
	fs, err := fsutil.NewFilterFS(base, &fsutil.FilterOpt{IncludePatterns: include, Map: regularFilesOnly})
	if err != nil {
		return nil, "", fmt.Errorf("opening report directory %s: %w", dir, err)
	}
	return fs, file, nil
}

// reportMount resolves the report path to the directory to share, the
// report option ("." for the directory itself) and the names of the files
// in it to share. A symbolic link named as the report is resolved, so that
// the file it points to is shared, not the link's directory.
func reportMount(path string) (dir, file string, names []string, err error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", "", nil, fmt.Errorf("resolving report path %s: %w", path, err)
	}
	abs, err := filepath.Abs(resolved)
	if err != nil {
		return "", "", nil, fmt.Errorf("resolving report path %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", "", nil, fmt.Errorf("reading report %s: %w", path, err)
	}
	switch {
	case st.IsDir():
		names, err := jsonFiles(abs)
		return abs, ".", names, err
	case !st.Mode().IsRegular():
		return "", "", nil, fmt.Errorf("report %s is not a regular file or a directory", path)
	}
	dir, file = filepath.Split(abs)
	if err := checkReportName(file); err != nil {
		return "", "", nil, err
	}
	return filepath.Clean(dir), file, []string{file}, nil
}

// jsonFiles lists the regular *.json files directly in dir, the reports
// the frontend reads from a directory.
func jsonFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading report directory %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if err := checkReportName(e.Name()); err != nil {
			return nil, err
		}
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		// No include pattern would share everything.
		return nil, fmt.Errorf("reading report directory %s: no regular *.json file in it", dir)
	}
	return names, nil
}

// checkReportName refuses file names that fsutil's patterns cannot name
// literally: it trims white space and reads patterns as UTF-8, so such a
// pattern could name a neighbour instead.
func checkReportName(name string) error {
	if !utf8.ValidString(name) || strings.TrimFunc(name, unicode.IsSpace) != name {
		return fmt.Errorf("report file name %q: rename the file without white space at either end, in UTF-8", name)
	}
	return nil
}

// literalPattern is an fsutil include pattern that matches name alone:
// "*", "?", "[", "]", "^" and "\" are escaped, and so is a leading "!",
// which would make the pattern an exclusion.
func literalPattern(name string) string {
	var b strings.Builder
	for i, r := range name {
		if strings.ContainsRune(`*?[]^\`, r) || (i == 0 && r == '!') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// regularFilesOnly keeps regular files: a symbolic link would give the
// builder a path that was not named, and no report is a directory.
func regularFilesOnly(_ string, st *types.Stat) fsutil.MapResult {
	switch mode := os.FileMode(st.Mode); {
	case mode.IsRegular():
		return fsutil.MapResultKeep
	case mode.IsDir():
		return fsutil.MapResultSkipDir
	}
	return fsutil.MapResultExclude
}
