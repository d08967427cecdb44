package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with the config file, located by line and key
// path so it can be printed as `config.yaml:12: web.https: ...`.
type Problem struct {
	File string
	Line int
	Path string
	Msg  string
}

func (p *Problem) Error() string {
	if p.Path == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Path, p.Msg)
}

// decoder walks yaml.Nodes, collecting every problem instead of stopping at
// the first, and remembers the line of every key path it visits so that
// later checks (Validate) can point at the right line.
type decoder struct {
	file     string
	lookup   func(string) (string, bool)
	problems []error
	lines    map[string]int
}

func (d *decoder) problem(line int, path, format string, args ...any) {
	d.problems = append(d.problems, &Problem{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.problem(n.Line, path, format, args...)
}

// lineOf is the line of path, or of its nearest recorded parent.
func (d *decoder) lineOf(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 1
		}
		path = path[:i]
	}
}

// at reports a problem located at path (used after decoding).
func (d *decoder) at(path, format string, args ...any) {
	d.problem(d.lineOf(path), path, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// fields maps a supported key to its decoder.
type fields map[string]func(n *yaml.Node, path string)

// mapping decodes a YAML mapping: each key must be in known or in
// unsupported (Dex keys torii refuses, with the reason); anything else is
// an unknown key. A null value is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, known fields, unsupported map[string]string) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		key := k.Value
		p := join(path, key)
		if first, dup := seen[key]; dup {
			d.errorf(k, p, "is set twice (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		if fn, ok := known[key]; ok {
			d.lines[p] = k.Line
			fn(v, p)
			continue
		}
		if why, ok := unsupported[key]; ok {
			d.errorf(k, p, "torii does not support %s", why)
			continue
		}
		d.errorf(k, p, "unknown key %q%s", key, suggest(key, known))
	}
}

// suggest names a supported key differing only in case, a common slip
// (tlscert, redirectUris).
func suggest(key string, known fields) string {
	for k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}

// sequence calls fn for each item of a YAML sequence; null is empty.
func (d *decoder) sequence(n *yaml.Node, path string, fn func(item *yaml.Node, path string, i int)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list")
		return
	}
	for i, item := range n.Content {
		p := index(path, i)
		d.lines[p] = item.Line
		fn(resolve(item), p, i)
	}
}

// str reads a scalar as text. Numbers are accepted as written (an unquoted
// userID), booleans and collections are not.
func (d *decoder) str(n *yaml.Node, path string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float") {
		d.errorf(n, path, "must be a string")
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, path string) bool {
	n = resolve(n)
	if isNull(n) {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, path, "must be true or false")
		return false
	}
	return b
}

// integer accepts an integer, or a string holding one (after $VAR expansion
// `port: $PGPORT` is a string).
func (d *decoder) integer(n *yaml.Node, path string) int {
	n = resolve(n)
	if isNull(n) {
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") || err != nil {
		d.errorf(n, path, "must be an integer")
		return 0
	}
	return v
}

// duration reads a Go duration ("90s", "24h"); it must not be negative.
func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	s := d.str(n, path)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, path, "%q is not a duration (examples: 90s, 15m, 24h)", s)
		return 0
	}
	if v < 0 {
		d.errorf(n, path, "must not be negative")
		return 0
	}
	return v
}

// seconds reads a duration given either as whole seconds (Dex's SQL
// settings) or as a Go duration.
func (d *decoder) seconds(n *yaml.Node, path string) time.Duration {
	n = resolve(n)
	if isNull(n) {
		return 0
	}
	if v, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil && n.Kind == yaml.ScalarNode {
		if v < 0 {
			d.errorf(n, path, "must not be negative")
			return 0
		}
		return time.Duration(v) * time.Second
	}
	return d.duration(n, path)
}

func (d *decoder) strList(n *yaml.Node, path string) []string {
	var out []string
	d.sequence(n, path, func(item *yaml.Node, p string, _ int) {
		out = append(out, d.str(item, p))
	})
	return out
}

// oneOf reads a string that must be one of allowed (empty is allowed and
// means the default).
func (d *decoder) oneOf(n *yaml.Node, path string, allowed ...string) string {
	s := d.str(n, path)
	if s != "" && !slices.Contains(allowed, s) {
		d.errorf(n, path, "%q is not one of %s", s, strings.Join(allowed, ", "))
		return ""
	}
	return s
}

// fromEnv reads the environment variable named by the value at n (idEnv,
// secretEnv, hashFromEnv); unset or empty is a problem.
func (d *decoder) fromEnv(n *yaml.Node, path string) string {
	name := d.str(n, path)
	if name == "" {
		return ""
	}
	v, ok := d.lookup(name)
	if !ok || v == "" {
		d.errorf(n, path, "environment variable %s is not set", name)
		return ""
	}
	return v
}

// expand returns a copy of the tree with $VAR and ${VAR} replaced in every
// string value, as Dex does in connector and storage config blocks. `$$` is
// a literal `$`. An unset variable is a problem (Dex would silently use "").
func (d *decoder) expand(n *yaml.Node, path string) *yaml.Node {
	n = resolve(n)
	if n == nil {
		return nil
	}
	c := *n
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && strings.Contains(n.Value, "$") {
			c.Value = os.Expand(n.Value, func(name string) string {
				if name == "$" {
					return "$"
				}
				v, ok := d.lookup(name)
				if !ok {
					d.errorf(n, path, "environment variable %s is not set (write $$ for a literal $)", name)
				}
				return v
			})
		}
	case yaml.MappingNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.Content[i] = n.Content[i]
			c.Content[i+1] = d.expand(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, item := range n.Content {
			c.Content[i] = d.expand(item, index(path, i))
		}
	}
	return &c
}
