package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// A Catalog is one language's messages, read from i18n/<tag>.json:
//
//	{"language": "ja", "name": "日本語", "dir": "ltr",
//	 "messages": {"login.submit": "ログイン", "chooser.with": "{name} でログイン"}}
//
// A message may name placeholders in braces ({name}); T fills them from
// its key/value arguments. English (en.json) is the reference: every
// built-in catalog has exactly its keys and placeholders (catalog_test.go).
type Catalog struct {
	Tag  language.Tag
	Name string // the language's own name for itself
	Dir  string // "ltr" or "rtl", for <html dir>
	msgs map[string]string
	// fallback answers keys this catalog lacks (English, for an
	// operator's catalog written against an older torii).
	fallback *Catalog
}

type catalogFile struct {
	Language string            `json:"language"`
	Name     string            `json:"name"`
	Dir      string            `json:"dir"`
	Messages map[string]string `json:"messages"`
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// T returns the message for key with its placeholders filled from args,
// given as name, value pairs. An unknown key comes back as the key itself,
// so a page never renders empty (tests make sure none is unknown).
func (c *Catalog) T(key string, args ...string) string {
	msg, ok := c.msgs[key]
	if !ok && c.fallback != nil {
		msg, ok = c.fallback.msgs[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	return placeholderRE.ReplaceAllStringFunc(msg, func(ph string) string {
		name := ph[1 : len(ph)-1]
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				return args[i+1]
			}
		}
		return ph
	})
}

// Has reports whether the catalog itself (not its fallback) has key.
func (c *Catalog) Has(key string) bool { _, ok := c.msgs[key]; return ok }

// Keys lists the catalog's own keys, sorted.
func (c *Catalog) Keys() []string {
	keys := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Placeholders lists the placeholder names a message uses, sorted.
func Placeholders(msg string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(msg, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// Message returns the catalog's own text for key.
func (c *Catalog) Message(key string) (string, bool) { m, ok := c.msgs[key]; return m, ok }

func parseCatalog(name string, data []byte) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	tag, err := language.Parse(f.Language)
	if err != nil {
		return nil, fmt.Errorf("%s: language %q is not a BCP 47 tag: %v", name, f.Language, err)
	}
	if want := strings.TrimSuffix(path.Base(name), ".json"); want != f.Language {
		return nil, fmt.Errorf("%s: language %q does not match the file name (want %s.json)", name, f.Language, f.Language)
	}
	switch f.Dir {
	case "":
		f.Dir = "ltr"
	case "ltr", "rtl":
	default:
		return nil, fmt.Errorf("%s: dir %q must be ltr or rtl", name, f.Dir)
	}
	if f.Name == "" {
		return nil, fmt.Errorf("%s: name (the language's own name) is required", name)
	}
	if len(f.Messages) == 0 {
		return nil, fmt.Errorf("%s: messages is empty", name)
	}
	return &Catalog{Tag: tag, Name: f.Name, Dir: f.Dir, msgs: f.Messages}, nil
}

// readCatalogs reads every i18n/*.json of fsys.
func readCatalogs(fsys fs.FS) ([]*Catalog, error) {
	names, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	var out []*Catalog
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		c, err := parseCatalog(n, data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// checkAgainst reports the keys of c that English lacks and the messages
// whose placeholders differ from English's.
func (c *Catalog) checkAgainst(en *Catalog) []string {
	var problems []string
	for _, k := range c.Keys() {
		ref, ok := en.msgs[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("key %q is not in en.json", k))
			continue
		}
		if got, want := Placeholders(c.msgs[k]), Placeholders(ref); !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("key %q has placeholders %v, English has %v", k, got, want))
		}
	}
	return problems
}
