// Command darn-trivydb builds a Trivy vulnerability database (schema 2)
// from advisories JSON files into a Trivy cache directory, for scans that
// never go online:
//
//	darn-trivydb -advisories debian.json -advisories rpm.json -cache-dir DIR
//	trivy image --cache-dir DIR --skip-db-update --offline-scan … IMAGE
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	trivydblog "github.com/aquasecurity/trivy-db/pkg/log"

	"github.com/darn-dev/darn/tools/trivy/advisorydb"
)

func main() {
	var files []string
	flag.Func("advisories", "advisories JSON `file` (repeat for more)", func(f string) error {
		files = append(files, f)
		return nil
	})
	cacheDir := flag.String("cache-dir", "", "Trivy cache `dir`ectory; the database goes to DIR/db")
	validFor := flag.Duration("valid-for", 10*365*24*time.Hour, "how long the database stays current (metadata NextUpdate)")
	flag.Parse()
	if len(files) == 0 || *cacheDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: darn-trivydb -advisories FILE [-advisories FILE…] -cache-dir DIR [-valid-for DURATION]")
		os.Exit(2)
	}
	// trivy-db narrates every build step at info level.
	trivydblog.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(files, *cacheDir, *validFor); err != nil {
		fmt.Fprintf(os.Stderr, "darn-trivydb: %v\n", err)
		os.Exit(1)
	}
}

// run reads the advisories and writes the database.
func run(files []string, cacheDir string, validFor time.Duration) error {
	advs, err := advisorydb.ParseFiles(files...)
	if err != nil {
		return err
	}
	if err := advisorydb.Build(cacheDir, advs, advisorydb.Options{Now: time.Now(), ValidFor: validFor}); err != nil {
		return err
	}
	fmt.Printf("darn-trivydb: %d advisories from %d files in %s\n", len(advs), len(files), advisorydb.Dir(cacheDir))
	return nil
}
