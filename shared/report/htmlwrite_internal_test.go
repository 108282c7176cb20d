package report

import (
	"bytes"
	"html/template"
	"testing"
)

// FuzzEscapeHTML: escapeHTML escapes a string for element text, for
// <title> (RCDATA) and for a double-quoted attribute value exactly as
// html/template does in those contexts (report.html used to be a template;
// tests may import it, the deployed binary does not).
func FuzzEscapeHTML(f *testing.F) {
	for _, s := range []string{
		"", "plain", `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `' onmouseover='x`,
		"a&amp;b", "1+1", "nul\x00byte", "bad \xff\xfe utf-8", "\u202Eright-to-left", "line\nnext\ttab",
		"&#34;", "\ufdd0\uffff",
	} {
		f.Add(s)
	}
	tmpl := template.Must(template.New("").Parse(`<p class="x {{.}}">{{.}}</p><title>{{.}}</title>`))
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		if err := tmpl.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		e := escapeHTML(s)
		if got := `<p class="x ` + e + `">` + e + `</p><title>` + e + `</title>`; got != want.String() {
			t.Errorf("escapeHTML(%q) = %q; html/template writes %q", s, got, want.String())
		}
	})
}
