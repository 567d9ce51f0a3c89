package config

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// configurationDoc is the page that documents every context key.
const configurationDoc = "../docs/configuration.md"

// docRow is one row of the page's table of keys.
type docRow struct {
	key, def string
	line     int
}

// readKeyTable reads the table of keys in docs/configuration.md: the first
// Markdown table whose header is exactly "| Key | Default | Meaning |". Its
// Key cells are `key`, and its Default cells are one code span each.
func readKeyTable(t *testing.T) []docRow {
	t.Helper()
	raw, err := os.ReadFile(configurationDoc)
	if err != nil {
		t.Fatalf("read the configuration page: %v", err)
	}
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if cells := tableCells(l); slices.Equal(cells, []string{"Key", "Default", "Meaning"}) {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s has no table with the header | Key | Default | Meaning |", configurationDoc)
	}
	var rows []docRow
	for i := start + 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
		cells := tableCells(lines[i])
		if len(cells) != 3 {
			t.Errorf("%s:%d: want 3 cells (Key, Default, Meaning), got %d", configurationDoc, i+1, len(cells))
			continue
		}
		key, ok := codeSpan(cells[0])
		if !ok {
			t.Errorf("%s:%d: the Key cell %q is not one code span such as `stackName`", configurationDoc, i+1, cells[0])
			continue
		}
		def, ok := codeSpan(cells[1])
		if !ok {
			t.Errorf("%s:%d: the Default cell %q of %s is not one code span such as `\"iam\"`", configurationDoc, i+1, cells[1], key)
			continue
		}
		rows = append(rows, docRow{key: key, def: def, line: i + 1})
	}
	return rows
}

// tableCells splits a Markdown table row into its trimmed cells; a pipe
// escaped as \| stays in its cell. A line that is not a row has no cells.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	line = line[1 : len(line)-1]
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// codeSpan is the text of a cell that is exactly one code span: `text`.
func codeSpan(cell string) (string, bool) {
	inner, ok := strings.CutPrefix(cell, "`")
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, "`")
	if !ok || inner == "" || strings.Contains(inner, "`") {
		return "", false
	}
	return inner, true
}

// keyConstants reads the value of every constant named Key* in config.go,
// as the source declares it.
func keyConstants(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, 0)
	if err != nil {
		t.Fatalf("parse config.go: %v", err)
	}
	var keys []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Key") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("config.go: %s is not a string literal", name.Name)
					continue
				}
				key, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Errorf("config.go: %s: %v", name.Name, err)
					continue
				}
				keys = append(keys, key)
			}
		}
	}
	if len(keys) == 0 {
		t.Fatal("config.go declares no Key* constants")
	}
	return keys
}

// keysLoadReads records every key Load asks for, in configurations that
// between them reach every branch that reads a key: the default, and JWT
// authorization (whose keys are read only then). Load stops asking after
// the first error, so each of them must load.
func keysLoadReads(t *testing.T) []string {
	t.Helper()
	asked := map[string]bool{}
	for _, ctx := range []map[string]any{
		nil,
		{KeyAPIAuthorization: "jwt", KeyJWTIssuer: "https://issuer.example", KeyJWTAudience: "client", KeyJWTAdminScope: "renders/admin"},
	} {
		if _, err := Load(func(key string) any { asked[key] = true; return ctx[key] }); err != nil {
			t.Fatalf("Load(%v): %v", ctx, err)
		}
	}
	keys := make([]string, 0, len(asked))
	for k := range asked {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestConfigurationDocMatchesDefault keeps docs/configuration.md's table
// of keys equal to the configuration:
//
//   - its keys are exactly the keys of Default().Context(), each once;
//   - each Default cell, the text inside its one code span, is byte for byte
//     what encoding/json's json.Marshal writes for that key's value in
//     Default().Context(): strings quoted ("iam"), numbers as written (30,
//     0.05), true or false, lists as JSON arrays without spaces
//     (["https://..."], []);
//   - every key that Load reads, and every Key* constant of config.go, is in
//     the table.
func TestConfigurationDocMatchesDefault(t *testing.T) {
	rows := readKeyTable(t)
	context := Default().Context()

	documented := map[string]docRow{}
	for _, r := range rows {
		if prior, twice := documented[r.key]; twice {
			t.Errorf("%s:%d: %s is in the table already, at line %d", configurationDoc, r.line, r.key, prior.line)
		}
		documented[r.key] = r
	}

	// (a) The table's keys are the context's keys, both ways.
	for key := range context {
		if _, ok := documented[key]; !ok {
			t.Errorf("%s has no row for the context key %s", configurationDoc, key)
		}
	}
	for _, r := range rows {
		if _, ok := context[r.key]; !ok {
			t.Errorf("%s:%d: %s is not a key of config.Default().Context()", configurationDoc, r.line, r.key)
		}
	}

	// (b) Each Default cell is the JSON of the key's default.
	for _, r := range rows {
		value, ok := context[r.key]
		if !ok {
			continue
		}
		want, err := json.Marshal(value)
		if err != nil {
			t.Fatalf("marshal the default of %s: %v", r.key, err)
		}
		if r.def != string(want) {
			t.Errorf("%s:%d: the Default of %s is `%s`; config.Default() says `%s`", configurationDoc, r.line, r.key, r.def, want)
		}
	}

	// (c) Every key Load reads, and every Key* constant, is documented.
	for _, key := range keysLoadReads(t) {
		if _, ok := documented[key]; !ok {
			t.Errorf("Load reads the context key %s, and %s has no row for it", key, configurationDoc)
		}
	}
	for _, key := range keyConstants(t) {
		if _, ok := documented[key]; !ok {
			t.Errorf("config.go declares the context key %s, and %s has no row for it", key, configurationDoc)
		}
	}
}
