package dexmigrate

import (
	"fmt"
	"io"
)

// Kinds of imported items.
const (
	KindKey             = "key"
	KindRefreshToken    = "refresh token"
	KindClient          = "client"
	KindPassword        = "password"
	KindOfflineSessions = "offline sessions"
	KindConnector       = "connector"
)

// Outcome is what happened to an item.
type Outcome string

// Outcomes.
const (
	Imported  Outcome = "imported"
	Unchanged Outcome = "unchanged"
	Skipped   Outcome = "skipped"
)

// Item is one thing read from Dex. Detail never holds a secret.
type Item struct {
	Kind, ID, Detail string
	Outcome          Outcome
	Reason           string
}

// Report lists every item in the order it was read.
type Report struct {
	DryRun bool
	// Source says which Dex storage was read (no secret).
	Source string
	Items  []Item
}

// empty: Dex's storage held nothing at all, not even keys (Dex never ran
// on it, or the import read another database or namespace).
func (r *Report) empty() bool {
	return len(r.Items) == 1 && r.Items[0].Kind == KindKey && r.Items[0].ID == "-"
}

func (r *Report) add(it Item, o Outcome, reason string) {
	it.Outcome, it.Reason = o, reason
	r.Items = append(r.Items, it)
}

// Count is how many items of kind had outcome o.
func (r *Report) Count(kind string, o Outcome) int {
	n := 0
	for _, it := range r.Items {
		if it.Kind == kind && it.Outcome == o {
			n++
		}
	}
	return n
}

// Changed reports whether the import wrote (or, in a dry run, would
// write) anything.
func (r *Report) Changed() bool {
	for _, it := range r.Items {
		if it.Outcome == Imported {
			return true
		}
	}
	return false
}

// Print writes one line per item, then a summary per kind.
func (r *Report) Print(w io.Writer) {
	verb := map[Outcome]string{Imported: "imported", Unchanged: "unchanged", Skipped: "skipped"}
	if r.DryRun {
		verb[Imported] = "would import"
	}
	if r.Source != "" {
		fmt.Fprintf(w, "Dex's storage: %s\n", r.Source)
	}
	for _, it := range r.Items {
		line := fmt.Sprintf("%-14s %s %s", verb[it.Outcome]+":", it.Kind, it.ID)
		if it.Detail != "" {
			line += " (" + it.Detail + ")"
		}
		if it.Reason != "" {
			line += ": " + it.Reason
		}
		fmt.Fprintln(w, line)
	}
	kinds := []string{KindKey, KindRefreshToken, KindClient, KindPassword}
	if r.Count(KindConnector, Unchanged)+r.Count(KindConnector, Skipped) > 0 {
		kinds = append(kinds, KindConnector)
	}
	for _, kind := range kinds {
		fmt.Fprintf(w, "%ss: %d %s, %d unchanged, %d skipped\n", kind,
			r.Count(kind, Imported), verb[Imported], r.Count(kind, Unchanged), r.Count(kind, Skipped))
	}
	if r.empty() {
		fmt.Fprintln(w, "Dex's storage is empty: is this the database (or, for kubernetes, the namespace) Dex ran on? Dex writes its keys at its first start")
	}
	switch {
	case !r.Changed() && r.DryRun:
		fmt.Fprintln(w, "dry run: nothing to import; torii's storage already has everything it can take from Dex")
	case !r.Changed():
		fmt.Fprintln(w, "nothing changed: torii's storage already had everything it can take from Dex")
	case r.DryRun:
		fmt.Fprintln(w, "dry run: torii's storage was not changed")
	}
}
