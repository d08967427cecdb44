package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"github.com/torii-idp/torii/web"
)

// languages picks the catalog a page is shown in: the auth request's
// ui_locales (OIDC Core 3.1.2.1), then the browser's Accept-Language, then
// frontend.defaultLanguage, then English.
type languages struct {
	catalogs []*web.Catalog // English first
	matcher  language.Matcher
	def      *web.Catalog
}

func newLanguages(cats []*web.Catalog, defaultLanguage string) (*languages, error) {
	tags := make([]language.Tag, len(cats))
	for i, c := range cats {
		tags[i] = c.Tag
	}
	l := &languages{catalogs: cats, matcher: language.NewMatcher(tags), def: cats[0]}
	if defaultLanguage != "" {
		c, ok := l.match([]language.Tag{language.Make(defaultLanguage)})
		if !ok {
			return nil, fmt.Errorf("frontend.defaultLanguage %q: no catalog for it (have %s)", defaultLanguage, l.names())
		}
		l.def = c
	}
	return l, nil
}

func (l *languages) names() string {
	var s []string
	for _, c := range l.catalogs {
		s = append(s, c.Tag.String())
	}
	return strings.Join(s, ", ")
}

// match returns the catalog for the first tag (in preference order) that
// one of the catalogs serves: the same language (zh-CN for zh-Hans, de-CH
// for de), never the matcher's guess at a language the person may also
// read (it offers English for Swahili), which pick's later steps decide.
func (l *languages) match(tags []language.Tag) (*web.Catalog, bool) {
	for _, t := range tags {
		_, i, conf := l.matcher.Match(t)
		if conf < language.High {
			continue
		}
		want, _ := t.Base()
		got, _ := l.catalogs[i].Tag.Base()
		if want == got {
			return l.catalogs[i], true
		}
	}
	return nil, false
}

// maxLanguageTags bounds the tags read from one header or parameter.
const maxLanguageTags = 16

// pick chooses the catalog for uiLocales (space-separated BCP 47 tags,
// most preferred first) and an Accept-Language header value.
func (l *languages) pick(uiLocales, acceptLanguage string) *web.Catalog {
	var tags []language.Tag
	for i, f := range strings.Fields(uiLocales) {
		if i == maxLanguageTags {
			break
		}
		if t, err := language.Parse(f); err == nil {
			tags = append(tags, t)
		}
	}
	if c, ok := l.match(tags); ok {
		return c
	}
	if len(acceptLanguage) <= 1024 {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil {
			if len(tags) > maxLanguageTags {
				tags = tags[:maxLanguageTags]
			}
			if c, ok := l.match(tags); ok {
				return c
			}
		}
	}
	return l.def
}

// message is text a person sees: a catalog key with its placeholder
// values, or (raw) text that comes from elsewhere as is (an operator's
// username prompt, an upstream provider's message without a key).
type message struct {
	key  string
	args []string
	raw  string
}

// tr names a catalog message; args are placeholder name, value pairs.
func tr(key string, args ...string) message { return message{key: key, args: args} }

func rawText(s string) message { return message{raw: s} }

func (m message) in(c *web.Catalog) string {
	if m.key == "" {
		return m.raw
	}
	return c.T(m.key, m.args...)
}

// The page locale travels with the request: /auth and loadRequest note
// the auth request's ui_locales in it, and every page rendered later in
// the same request is in that language.
type pageLocaleKey struct{}

type pageLocale struct{ uiLocales string }

func withPageLocale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pageLocaleKey{}, &pageLocale{})))
	})
}

// setUILocales records the ui_locales the pages of this request follow.
func setUILocales(ctx context.Context, v string) {
	if pl, ok := ctx.Value(pageLocaleKey{}).(*pageLocale); ok && len(v) <= maxParamLen {
		pl.uiLocales = v
	}
}

func uiLocales(ctx context.Context) string {
	if pl, ok := ctx.Value(pageLocaleKey{}).(*pageLocale); ok {
		return pl.uiLocales
	}
	return ""
}
