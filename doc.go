// Package darn mends container images in place: it upgrades exactly the
// vulnerable OS packages a scanner report names and appends one layer to the
// untouched original layers. The code lives in the subpackages; this root
// package only holds repository-wide tests.
package darn
