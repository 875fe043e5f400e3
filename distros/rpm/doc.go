// Package rpm is the RPM family: Red Hat Enterprise Linux and its
// rebuilds (UBI, Rocky, Alma, Oracle, CentOS Stream), Fedora, Amazon Linux,
// Azure Linux and CBL-Mariner, SUSE Linux Enterprise and openSUSE. It reads
// the rpm database in all three of rpm's backends (sqlite, Berkeley DB,
// ndb) with go-rpmdb, the library Trivy uses, and the container manifests
// Azure Linux's distroless images carry instead; orders versions as rpm
// does; and patches images with their own package manager (dnf, yum,
// microdnf, tdnf or zypper) or, without one, from a tooling image of the
// same release.
package rpm
