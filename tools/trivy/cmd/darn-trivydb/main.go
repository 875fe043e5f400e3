// Command darn-trivydb builds a Trivy vulnerability database (schema 2)
// from an advisories JSON file into a Trivy cache directory, for scans
// that never go online:
//
//	darn-trivydb -advisories advisories.json -cache-dir DIR
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
	advisories := flag.String("advisories", "", "advisories JSON `file`")
	cacheDir := flag.String("cache-dir", "", "Trivy cache `dir`ectory; the database goes to DIR/db")
	validFor := flag.Duration("valid-for", 10*365*24*time.Hour, "how long the database stays current (metadata NextUpdate)")
	flag.Parse()
	if *advisories == "" || *cacheDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: darn-trivydb -advisories FILE -cache-dir DIR [-valid-for DURATION]")
		os.Exit(2)
	}
	// trivy-db narrates every build step at info level.
	trivydblog.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(*advisories, *cacheDir, *validFor); err != nil {
		fmt.Fprintf(os.Stderr, "darn-trivydb: %v\n", err)
		os.Exit(1)
	}
}

// run reads the advisories and writes the database.
func run(file, cacheDir string, validFor time.Duration) error {
	dt, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	advs, err := advisorydb.Parse(dt)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := advisorydb.Build(cacheDir, advs, advisorydb.Options{Now: time.Now(), ValidFor: validFor}); err != nil {
		return err
	}
	fmt.Printf("darn-trivydb: %d advisories from %s in %s\n", len(advs), file, advisorydb.Dir(cacheDir))
	return nil
}
