// Package apkinstall is darn's apk installer, the program that patches apk
// images (Alpine, Wolfi, Chainguard) from darn's own image. It runs with
// the image's root mounted and none of the image's code: it reads the
// image's repositories, keys and installed database; fetches each
// repository's APKINDEX and checks its signature against the image's keys;
// chooses each requested package at the lowest version at or above its
// fix, with only the dependencies that needs; downloads every package and
// checks it against the signed index (control segment) and its own
// control data (data segment) before anything is written; then writes the
// packages' files into the root, removes the old versions' files, and
// rewrites the installed database. Every path is resolved inside the
// image's root, so a link the image plants never leads out of it.
//
// It uses go-apk (chainguard-dev/go-apk) for index fetching, signature
// checks and package expansion; go-apk installs into new roots only, so
// the upgrade of an installed package is this package's own.
package apkinstall
