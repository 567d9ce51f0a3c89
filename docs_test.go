package main

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The documentation is the README and the pages under docs/. These tests
// keep it honest where a machine can tell: every relative link leads
// somewhere, the CDK CLI's version is the one CI pins, and the README stays
// short enough to read.

// maxREADMELines bounds the README: the details live in docs/.
const maxREADMELines = 200

// docFiles are the README and every Markdown page under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, pages...)
}

// docLine is one line of a document, with its number (from 1).
type docLine struct {
	n    int
	text string
}

func readLines(t *testing.T, path string) []docLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []docLine
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; s.Scan(); n++ {
		lines = append(lines, docLine{n: n, text: s.Text()})
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return lines
}

// prose is a document's lines outside fenced code blocks, with inline code
// spans blanked: a link is only a link in prose.
func prose(lines []docLine) []docLine {
	var out []docLine
	fence := ""
	for _, l := range lines {
		trimmed := strings.TrimSpace(l.text)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		out = append(out, docLine{n: l.n, text: codeSpan.ReplaceAllString(l.text, "``")})
	}
	return out
}

var (
	codeSpan = regexp.MustCompile("`[^`]*`")
	// mdLink is an inline link or image: [text](target) or [text](target "title").
	mdLink  = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	heading = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// anchors are the fragment names GitHub gives a Markdown file's headings:
// lowercased, punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range prose(readLines(t, path)) {
		m := heading.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		slug := slugOf(m[2])
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func slugOf(title string) string {
	title = strings.ReplaceAll(title, "`", "")
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every relative link in the README and docs/ names a file of this
// repository, and every #fragment a heading of the Markdown file it points
// to.
func TestDocLinksResolve(t *testing.T) {
	anchorsOf := map[string]map[string]bool{}
	links := 0
	for _, doc := range docFiles(t) {
		for _, l := range prose(readLines(t, doc)) {
			for _, m := range mdLink.FindAllStringSubmatch(l.text, -1) {
				target := m[1]
				if u, err := url.Parse(target); err == nil && u.Scheme != "" {
					continue // http(s), mailto: not this repository's to check
				}
				links++
				file, fragment, _ := strings.Cut(target, "#")
				path := doc
				if file != "" {
					unescaped, err := url.PathUnescape(file)
					if err != nil {
						t.Errorf("%s:%d: link %q: %v", doc, l.n, target, err)
						continue
					}
					path = filepath.Join(filepath.Dir(doc), filepath.FromSlash(unescaped))
					if _, err := os.Stat(path); err != nil {
						t.Errorf("%s:%d: link %q: no file %s", doc, l.n, target, path)
						continue
					}
				}
				if fragment == "" || !strings.HasSuffix(path, ".md") {
					continue
				}
				if anchorsOf[path] == nil {
					anchorsOf[path] = anchors(t, path)
				}
				if !anchorsOf[path][fragment] {
					t.Errorf("%s:%d: link %q: %s has no heading whose anchor is #%s", doc, l.n, target, path, fragment)
				}
			}
		}
	}
	if links == 0 {
		t.Error("no relative link found in README.md or docs/: the link pattern is broken")
	}
}

// The link check above can fail: a missing file, and a heading that is not
// there, are found.
func TestDocLinkCheckFindsBrokenLinks(t *testing.T) {
	lines := prose([]docLine{
		{1, "See [the queue](docs/queue.md#the-line) and `[not](a-link.md)`."},
		{2, "```"},
		{3, "[inside](a-fence.md)"},
		{4, "```"},
	})
	var targets []string
	for _, l := range lines {
		for _, m := range mdLink.FindAllStringSubmatch(l.text, -1) {
			targets = append(targets, m[1])
		}
	}
	if len(targets) != 1 || targets[0] != "docs/queue.md#the-line" {
		t.Errorf("links found %q, want only docs/queue.md#the-line", targets)
	}
	for title, want := range map[string]string{
		"Who reads which render":            "who-reads-which-render",
		"`GET /renders/{renderId}`":         "get-rendersrenderid",
		"One start, one charge":             "one-start-one-charge",
		"Sizing: the budget and the 201":    "sizing-the-budget-and-the-201",
		"Tests, CI and the function (2026)": "tests-ci-and-the-function-2026",
	} {
		if got := slugOf(title); got != want {
			t.Errorf("slugOf(%q) = %q, want %q", title, got, want)
		}
	}
}

var (
	// cdkCLIAt is a pinned CDK CLI in a command: aws-cdk@2.1148.1, not
	// aws-cdk@${CDK_CLI_VERSION} (a variable) nor aws-cdk-lib.
	cdkCLIAt = regexp.MustCompile(`aws-cdk@([0-9A-Za-z][0-9A-Za-z.+-]*)`)
	// cdkCLIVariable is where a file pins the version: .ci/run's
	// CDK_CLI_VERSION=, the Makefile's CDK_CLI_VERSION :=, the workflow's
	// CDK_CLI_VERSION:.
	cdkCLIVariable = regexp.MustCompile(`^\s*CDK_CLI_VERSION\s*(?::=|=|:)\s*"?([^"\s#]+)"?`)
)

// The CDK CLI's version is .ci/run's CDK_CLI_VERSION; the README, docs/,
// the Makefile and the workflow write the same wherever they name one.
func TestCDKCLIVersionIsOneVersion(t *testing.T) {
	var want string
	for _, l := range readLines(t, filepath.Join(".ci", "run")) {
		if m := cdkCLIVariable.FindStringSubmatch(l.text); m != nil {
			want = m[1]
			break
		}
	}
	if want == "" {
		t.Fatal(".ci/run: no CDK_CLI_VERSION=... line: the version CI pins is written nowhere")
	}
	files := append(docFiles(t), "Makefile", filepath.Join(".ci", "run"), filepath.Join(".github", "workflows", "ci.yml"))
	pinned := map[string]bool{}
	for _, f := range files {
		for _, l := range readLines(t, f) {
			if m := cdkCLIVariable.FindStringSubmatch(l.text); m != nil {
				pinned[f] = true
				if m[1] != want {
					t.Errorf("%s:%d: CDK_CLI_VERSION %s, but .ci/run pins %s", f, l.n, m[1], want)
				}
			}
			for _, m := range cdkCLIAt.FindAllStringSubmatch(l.text, -1) {
				if m[1] != want {
					t.Errorf("%s:%d: aws-cdk@%s, but .ci/run pins CDK_CLI_VERSION=%s", f, l.n, m[1], want)
				}
			}
		}
	}
	for _, f := range []string{"Makefile", filepath.Join(".github", "workflows", "ci.yml")} {
		if !pinned[f] {
			t.Errorf("%s: no CDK_CLI_VERSION line; it should pin the CLI as .ci/run does (%s)", f, want)
		}
	}
}

// The README is the front page: what the project is, the two commands, the
// road to a video, and links. The rest is in docs/.
func TestREADMEIsShort(t *testing.T) {
	lines := readLines(t, "README.md")
	if len(lines) > maxREADMELines {
		t.Errorf("README.md:%d: the README has %d lines, over %d: move the detail into a page under docs/ and link it",
			maxREADMELines+1, len(lines), maxREADMELines)
	}
}
