package report

import (
	"bytes"
	"encoding/json"
	"strings"
)

// foreignDocument names the kind of a JSON document that scanners also
// write but that is no report Parse reads, such as a SARIF log from
// `trivy --format sarif`, with its article ("a SARIF", "an OpenVEX"); it
// returns "" for anything else. keys are the document's top-level members.
func foreignDocument(keys map[string]json.RawMessage) string {
	str := func(k string) string {
		var s string
		if json.Unmarshal(keys[k], &s) != nil {
			return ""
		}
		return strings.ToLower(s)
	}
	_, hasRuns := keys["runs"]
	_, hasVersion := keys["version"]
	_, hasSPDX := keys["spdxVersion"]
	switch {
	case str("bomFormat") == "cyclonedx":
		return "a CycloneDX"
	case hasSPDX:
		return "an SPDX"
	case hasRuns && (hasVersion || strings.Contains(str("$schema"), "sarif")):
		return "a SARIF"
	case strings.Contains(str("@context"), "openvex"):
		// darn writes these itself with --vex.
		return "an OpenVEX"
	}
	return ""
}

// isUTF16 reports whether dt starts with a UTF-16 byte-order mark. Parse
// reads UTF-8 only, and without this check a UTF-16 report would fail
// with a puzzling syntax error on its first byte.
func isUTF16(dt []byte) bool {
	return bytes.HasPrefix(dt, []byte{0xff, 0xfe}) || bytes.HasPrefix(dt, []byte{0xfe, 0xff})
}
