// Command darn-apkrepo makes the test bed's apk world, since no Alpine
// mirror is reachable from it: real apk v2 packages and signed indexes as
// abuild and apk-tools write them, and image roots with those packages
// installed as `apk add --root` leaves them (integration/testbed/apk.sh):
//
//	darn-apkrepo key -dir DIR
//	    print the name of the signing key pair in DIR
//	    (darn-test-<8hex>.rsa and .rsa.pub), made first if there is none
//	darn-apkrepo repo -table TSV -key PRIVATE -arch x86_64,aarch64 -epoch N
//	    -tamper-pkg NAME=VERSION -tamper-index NAME=VERSION -out DIR
//	    write DIR/{darn,darn-tampered-pkg,darn-tampered-index}/main/<arch>/
//	    (packages and APKINDEX.tar.gz), then read them back with go-apk
//	darn-apkrepo install -repo DIR/darn/main -key PUBLIC -arch ARCH
//	    -layout alpine|wolfi -packages NAME=VERSION,... -root ROOT
//	    install the packages into the empty directory ROOT
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "key":
		err = runKey(os.Args[2:])
	case "repo":
		err = runRepo(os.Args[2:])
	case "install":
		err = runInstall(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "darn-apkrepo %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: darn-apkrepo key|repo|install [flags] (-h for a command's flags)")
	os.Exit(2)
}

// parse parses a command's flags and requires every named one.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("-%s is required", name)
		}
	}
	return nil
}

func runKey(args []string) error {
	fs := flag.NewFlagSet("key", flag.ExitOnError)
	dir := fs.String("dir", "", "`directory` of the key pair")
	if err := parse(fs, args, "dir"); err != nil {
		return err
	}
	name, err := ensureKey(*dir, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}

func runRepo(args []string) error {
	fs := flag.NewFlagSet("repo", flag.ExitOnError)
	table := fs.String("table", "", "package table (`tsv`)")
	key := fs.String("key", "", "private key `file` (NAME.rsa, beside NAME.rsa.pub)")
	arches := fs.String("arch", "", "comma-separated apk `architectures`")
	epoch := fs.Int64("epoch", -1, "build time of every package and index (`seconds`)")
	tpkg := fs.String("tamper-pkg", "", "`NAME=VERSION` whose file darn-tampered-pkg alters")
	tidx := fs.String("tamper-index", "", "`NAME=VERSION` whose record darn-tampered-index edits")
	out := fs.String("out", "", "output `directory` (must not exist)")
	if err := parse(fs, args, "table", "key", "arch", "tamper-pkg", "tamper-index", "out"); err != nil {
		return err
	}
	if *epoch < 0 {
		return errors.New("-epoch is required")
	}
	o, err := newRepoOpts(*table, *key, *tpkg, *tidx)
	if err != nil {
		return err
	}
	o.Out, o.Arches, o.Mtime = *out, strings.Split(*arches, ","), time.Unix(*epoch, 0).UTC()
	if _, err := os.Lstat(o.Out); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s exists", o.Out)
	}
	if err := buildRepo(o); err != nil {
		return err
	}
	abs, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	return crossCheck(context.Background(), abs, *key+".pub", o.Signer.name, o.Arches, o.Specs, o.TamperPkg)
}

func runInstall(args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	var o installOpts
	fs.StringVar(&o.Repo, "repo", "", "repository `directory` holding <arch>/*.apk")
	key := fs.String("key", "", "public key `file` the packages must be signed by")
	fs.StringVar(&o.Arch, "arch", "", "apk `architecture`")
	fs.StringVar(&o.Layout, "layout", "", "`alpine` (lib/apk/db) or wolfi (merged /usr, usr/lib/apk/db)")
	pkgs := fs.String("packages", "", "`NAME=VERSION,...` to install")
	fs.StringVar(&o.Root, "root", "", "empty `directory` to install into")
	if err := parse(fs, args, "repo", "key", "arch", "layout", "packages", "root"); err != nil {
		return err
	}
	var err error
	if o.Pub, err = loadPublic(*key); err != nil {
		return err
	}
	o.KeyName = filepath.Base(*key)
	for _, s := range strings.Split(*pkgs, ",") {
		p, err := parseNameVer(s)
		if err != nil {
			return err
		}
		o.Packages = append(o.Packages, p)
	}
	return install(o)
}

// newRepoOpts reads the files and names repo's flags give.
func newRepoOpts(table, key, tpkg, tidx string) (repoOpts, error) {
	var o repoOpts
	var err error
	if o.Specs, err = readTable(table); err != nil {
		return o, err
	}
	if o.Signer, err = loadSigner(key); err != nil {
		return o, err
	}
	if o.TamperPkg, err = parseNameVer(tpkg); err != nil {
		return o, err
	}
	o.TamperIndex, err = parseNameVer(tidx)
	return o, err
}

// parseNameVer reads NAME=VERSION.
func parseNameVer(s string) (nameVer, error) {
	name, ver, ok := strings.Cut(s, "=")
	if !ok || !pkgName.MatchString(name) || !apkVersion.MatchString(ver) {
		return nameVer{}, fmt.Errorf("%q is not NAME=VERSION of a test package", s)
	}
	return nameVer{Name: name, Version: ver}, nil
}
