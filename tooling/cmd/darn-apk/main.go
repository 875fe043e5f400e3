// Command darn-apk is darn's apk installer: it patches the apk image whose
// root is mounted at $DARN_TARGET, from darn's own image, running none of
// the image's code (see package tooling/apk).
//
//	darn-apk upgrade NAME>=VERSION...   install each at the lowest version
//	                                    at or above VERSION
//	darn-apk upgradable                 write "NAME VERSION" lines of newer
//	                                    versions to $DARN_OUT/upgradable
//
// Environment: DARN_TARGET (the root), DARN_REPO_MIRRORS ("ORIGINAL MIRROR"
// lines), DARN_FETCH_TIMEOUT (seconds), DARN_EPOCH (Unix seconds),
// DARN_SKIP_MISSING=1, DARN_OUT.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/apk"
	apkinstall "github.com/darn-dev/darn/tooling/apk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "darn-apk:", err)
		os.Exit(1)
	}
}

// run carries out one command.
func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: darn-apk upgrade NAME>=VERSION... | darn-apk upgradable")
	}
	o, err := options()
	if err != nil {
		return err
	}
	switch args[0] {
	case apk.CommandUpgrade:
		done, err := apkinstall.Upgrade(ctx, o, args[1:])
		for _, d := range done {
			fmt.Println("darn-apk: installed", d)
		}
		return err
	case apk.CommandUpgradable:
		lines, err := apkinstall.Upgradable(ctx, o)
		if err != nil {
			return err
		}
		out := filepath.Join(os.Getenv("DARN_OUT"), apk.AnswerFile)
		return os.WriteFile(out, []byte(strings.Join(append(lines, ""), "\n")), 0o644)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// options reads the environment the step sets.
func options() (apkinstall.Options, error) {
	o := apkinstall.Options{
		Root:        apkinstall.Root{Dir: os.Getenv("DARN_TARGET")},
		SkipMissing: os.Getenv(apk.EnvSkipMissing) == "1",
		Warn:        func(s string) { fmt.Fprintln(os.Stderr, "darn-apk: warning:", s) },
	}
	if o.Root.Dir == "" {
		return o, errors.New("DARN_TARGET names no root to patch")
	}
	for _, line := range strings.Split(os.Getenv("DARN_REPO_MIRRORS"), "\n") {
		if line == "" {
			continue
		}
		orig, mirror, _ := strings.Cut(line, " ")
		m, err := distros.NewMirror(orig, mirror)
		if err != nil {
			return o, err
		}
		o.Mirrors = append(o.Mirrors, m)
	}
	for _, kv := range []struct {
		name string
		set  func(int64)
	}{
		{"DARN_FETCH_TIMEOUT", func(n int64) { o.FetchTimeout = time.Duration(n) * time.Second }},
		{"DARN_EPOCH", func(n int64) { o.Epoch = time.Unix(n, 0) }},
	} {
		if v := os.Getenv(kv.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return o, fmt.Errorf("%s=%q is not a whole number of seconds", kv.name, v)
			}
			kv.set(n)
		}
	}
	return o, nil
}
