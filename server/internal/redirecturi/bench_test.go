package redirecturi

import (
	"net/url"
	"testing"
)

// Baseline: parsing both URIs with net/url, the least a comparison that
// understands URIs at all would do.
func BenchmarkBaselineURLParse(b *testing.B) {
	for b.Loop() {
		if _, err := url.Parse(wikiEnc); err != nil {
			b.Fatal(err)
		}
		if _, err := url.Parse(wikiDouble); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEquivalentMediaWiki(b *testing.B) {
	for b.Loop() {
		if !Equivalent(wikiEnc, wikiDouble) {
			b.Fatal("not equivalent")
		}
	}
}

func BenchmarkEquivalentIdentical(b *testing.B) {
	for b.Loop() {
		if !Equivalent(wikiEnc, wikiEnc) {
			b.Fatal("not equivalent")
		}
	}
}

func BenchmarkMatchPlain(b *testing.B) {
	reg := []string{"https://a.example/cb", "https://app.example/oauth2/callback"}
	for b.Loop() {
		if !Match(reg, "https://app.example/oauth2/callback", false) {
			b.Fatal("no match")
		}
	}
}
