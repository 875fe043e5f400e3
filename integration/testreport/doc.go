// Package testreport derives a vulnerability report from what an image's
// own apt sources really offer: every installed package whose candidate
// version comes from the release's security suite becomes a fixable entry,
// written in Trivy's JSON shape. The test bed and `make demo` use it, since
// no vulnerability database can be downloaded on the machines darn is
// tested on. It also reads package databases back out of images.
package testreport
