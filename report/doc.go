// Package report reads vulnerability scanners' JSON reports (Trivy and Grype)
// into one scanner-neutral [Report]. It keeps only OS package results and
// does no version arithmetic: that needs the distro's ordering and belongs
// to package policy.
package report
