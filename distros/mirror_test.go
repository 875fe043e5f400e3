package distros

import "testing"

func TestParseMirrors(t *testing.T) {
	got, err := ParseMirrors("http://a.example/debian/=http://127.0.0.1:8080/debian/, https://b.example/x=http://m/y")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Original != "http://a.example/debian" || got[0].Mirror != "http://127.0.0.1:8080/debian" || got[1].Original != "https://b.example/x" {
		t.Errorf("ParseMirrors = %+v", got)
	}
	for _, bad := range []string{
		"http://a", "ftp://a=http://b", "http://a=", "=http://b", "http://a=http://b c",
		`http://m/debian\nhttp://m/debian\040file:/x`, "http://a=http://b\nSigned-By: x",
		"http://a=http://u:p@b", "http://a=file:/x",
	} {
		if _, err := ParseMirrors(bad); err == nil {
			t.Errorf("ParseMirrors(%q) must fail", bad)
		}
	}
}
