// Package patch is darn's pure core: it takes a patch's inputs as values
// (options, reports, the image's files through a small reader, resolved
// images as LLB states) and returns what to do with them: plans, the LLB of
// each platform's one upgrade step, the patched image config, and the
// summaries, warnings and plan tables users read. It performs no IO and
// knows no BuildKit client: package frontend is the IO shell around it, as
// BuildKit's Dockerfile builder is around dockerfile2llb.
//
// Package families (deb, rpm, apk) are reached only through the
// distros.Registry a caller passes in; nothing here names one.
package patch
