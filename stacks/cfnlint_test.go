package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cfn-lint checks the synthesized templates against CloudFormation's own
// resource schemas and best practices. The version is the one CI installs;
// the accepted warnings are in the repository's .cfnlintrc.yaml, which CI's
// run over cdk.out uses too.
const (
	cfnLintVersion    = "1.51.0"
	cfnLintConfigFile = "../.cfnlintrc.yaml"
)

// cfnLintMatch is one finding of `cfn-lint --format json`.
type cfnLintMatch struct {
	Filename string `json:"Filename"`
	Level    string `json:"Level"` // Error, Warning or Informational
	Message  string `json:"Message"`
	Location struct {
		Path []any `json:"Path"`
	} `json:"Location"`
	Rule struct {
		ID string `json:"Id"`
	} `json:"Rule"`
}

func (m cfnLintMatch) String() string {
	path := make([]string, len(m.Location.Path))
	for i, p := range m.Location.Path {
		path[i] = fmt.Sprint(p)
	}
	return fmt.Sprintf("%s %s at %s: %s", m.Level, m.Rule.ID, strings.Join(path, "/"), m.Message)
}

// cfnLintCanary is a template cfn-lint must find fault with, linted in the
// same run as the configurations: proof that the findings are read.
const cfnLintCanary = "canary"

var (
	cfnLintOnce    sync.Once
	cfnLintResults map[string][]cfnLintMatch // by configuration name, and cfnLintCanary
	cfnLintErr     error
)

// cfnLint runs cfn-lint once per test binary, in one process, over the
// template of every configuration (synthesized once, by synth) and the
// canary, and returns its findings by configuration name.
func cfnLint(t *testing.T) map[string][]cfnLintMatch {
	t.Helper()
	cfnLintOnce.Do(func() {
		bin, err := exec.LookPath("cfn-lint")
		if err != nil {
			cfnLintErr = fmt.Errorf("cfn-lint is not on PATH; install it with `pip install cfn-lint==%s` (Python 3.9 or later)", cfnLintVersion)
			return
		}
		// cfn-lint ignores a missing config file without a word.
		if _, err := os.Stat(cfnLintConfigFile); err != nil {
			cfnLintErr = err
			return
		}
		// Synthesis stops the first caller with t.Fatal; the others must
		// not then take the empty results for a pass.
		cfnLintErr = errors.New("a configuration did not synthesize: see the first test that ran cfn-lint")
		templates := map[string]map[string]any{cfnLintCanary: canaryTemplate(t)}
		for name := range configurations {
			templates[name] = synth(t, name).template
		}
		start := time.Now()
		cfnLintResults, cfnLintErr = runCfnLint(bin, templates)
		if cfnLintErr == nil {
			t.Logf("cfn-lint over %d templates: %v", len(templates), time.Since(start).Round(time.Millisecond))
		}
	})
	if cfnLintErr != nil {
		t.Fatal(cfnLintErr)
	}
	return cfnLintResults
}

// canaryTemplate is the default template with two faults: an error (a
// function's memory below the minimum) and a warning (an unused parameter).
func canaryTemplate(t *testing.T) map[string]any {
	t.Helper()
	var tmpl map[string]any
	b, _ := json.Marshal(defaultStack(t).template)
	json.Unmarshal(b, &tmpl)
	props(tmpl["Resources"].(map[string]any)[functionLogicalID(t, "default")].(map[string]any))["MemorySize"] = 64
	params, _ := tmpl["Parameters"].(map[string]any)
	if params == nil {
		params = map[string]any{}
		tmpl["Parameters"] = params
	}
	params["CanaryUnused"] = map[string]any{"Type": "String"}
	return tmpl
}

// runCfnLint writes the templates to a temporary directory, runs one
// cfn-lint process over them all, and returns its findings by name.
func runCfnLint(bin string, templates map[string]map[string]any) (map[string][]cfnLintMatch, error) {
	dir, err := os.MkdirTemp("", "cfn-lint-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	byFile := map[string]string{}
	args := []string{"--config-file", cfnLintConfigFile, "--format", "json", "--"}
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		b, err := json.MarshalIndent(templates[name], "", " ")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".template.json")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return nil, err
		}
		byFile[file] = name
		args = append(args, file)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	// The exit status is a bit set: 2 errors, 4 warnings, 8 informational
	// findings, all reported on stdout; 1 is cfn-lint's own failure.
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode()&1 != 0) {
		return nil, fmt.Errorf("cfn-lint %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	var matches []cfnLintMatch
	if err := json.Unmarshal(stdout.Bytes(), &matches); err != nil {
		return nil, fmt.Errorf("cfn-lint's output is not its JSON format: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	results := map[string][]cfnLintMatch{}
	for _, m := range matches {
		name, ok := byFile[m.Filename]
		if !ok {
			return nil, fmt.Errorf("cfn-lint reported on a file it was not given: %s", m)
		}
		results[name] = append(results[name], m)
	}
	return results, nil
}

// Every configuration's template passes cfn-lint: no error, and no warning
// but those .cfnlintrc.yaml accepts, each of which comes from a CDK
// construct.
func TestTemplatesPassCfnLint(t *testing.T) {
	results := cfnLint(t)
	for _, name := range slices.Sorted(maps.Keys(configurations)) {
		t.Run(name, func(t *testing.T) {
			for _, m := range results[name] {
				if m.Level == "Informational" {
					t.Logf("cfn-lint: %s", m)
					continue
				}
				t.Errorf("cfn-lint: %s", m)
			}
		})
	}
}

// The check above can fail: the canary's error and warning are both found.
func TestCfnLintFindsTheCanarysFaults(t *testing.T) {
	found := map[string]bool{}
	for _, m := range cfnLint(t)[cfnLintCanary] {
		found[m.Level+" "+m.Rule.ID] = true
	}
	for _, want := range []string{"Error E3034", "Warning W2001"} {
		if !found[want] {
			t.Errorf("cfn-lint did not report the canary's %s; it reported %v", want, slices.Sorted(maps.Keys(found)))
		}
	}
}

// .cfnlintrc.yaml ignores W3005, a DependsOn that a Ref or GetAtt already
// implies, for the CDK's Lambda functions, which depend on their role and
// name it in Role. cfn-lint cannot ignore a check on one resource only, so
// this test holds the ignore to that: any other redundant DependsOn fails.
func TestRedundantDependsOnComeOnlyFromTheCDK(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(configurations)) {
		t.Run(name, func(t *testing.T) {
			resources := synth(t, name).template["Resources"].(map[string]any)
			for _, id := range slices.Sorted(maps.Keys(resources)) {
				res := resources[id].(map[string]any)
				refs := map[string]bool{}
				for k, v := range res {
					if k != "DependsOn" {
						collectRefs(v, refs)
					}
				}
				for _, dep := range dependsOn(res) {
					if !refs[dep] {
						continue
					}
					if res["Type"] == "AWS::Lambda::Function" && slices.Equal(roleOf(res), []string{dep}) {
						continue // the CDK's function and its role
					}
					t.Errorf("%s depends on %s, which it already references: drop the dependency (cfn-lint's W3005)", id, dep)
				}
			}
		})
	}
}

// The check above can fail: a bucket that depends on a role it names.
func TestRedundantDependsOnIsFound(t *testing.T) {
	res := map[string]any{
		"Type":       "AWS::S3::Bucket",
		"DependsOn":  []any{"Role"},
		"Properties": map[string]any{"Tags": []any{map[string]any{"Key": "k", "Value": map[string]any{"Fn::Sub": "${Role.Arn}"}}}},
	}
	refs := map[string]bool{}
	collectRefs(res["Properties"], refs)
	if !refs["Role"] || !slices.Equal(dependsOn(res), []string{"Role"}) {
		t.Errorf("references %v, dependencies %v: want Role in both", refs, dependsOn(res))
	}
}

func dependsOn(res map[string]any) []string {
	switch d := res["DependsOn"].(type) {
	case string:
		return []string{d}
	case []any:
		out := make([]string, len(d))
		for i, v := range d {
			out[i], _ = v.(string)
		}
		return out
	}
	return nil
}

// roleOf is the resources a function's Role property references.
func roleOf(fn map[string]any) []string {
	refs := map[string]bool{}
	if p, ok := fn["Properties"].(map[string]any); ok {
		collectRefs(p["Role"], refs)
	}
	return slices.Sorted(maps.Keys(refs))
}

// collectRefs adds the logical IDs that v references with Ref, Fn::GetAtt or
// Fn::Sub to refs.
func collectRefs(v any, refs map[string]bool) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			collectRefs(e, refs)
		}
	case map[string]any:
		for k, e := range v {
			switch k {
			case "Ref":
				if s, ok := e.(string); ok && !strings.HasPrefix(s, "AWS::") {
					refs[s] = true
				}
			case "Fn::GetAtt":
				switch a := e.(type) {
				case []any:
					if s, ok := a[0].(string); ok {
						refs[s] = true
					}
				case string:
					refs[strings.SplitN(a, ".", 2)[0]] = true
				}
			case "Fn::Sub":
				s, _ := e.(string)
				if a, ok := e.([]any); ok && len(a) > 0 {
					s, _ = a[0].(string)
				}
				for _, m := range subRef.FindAllStringSubmatch(s, -1) {
					if !strings.HasPrefix(m[1], "AWS::") {
						refs[m[1]] = true
					}
				}
			}
			collectRefs(e, refs)
		}
	}
}

// subRef is a ${Name} or ${Name.Attribute} in Fn::Sub; ${!Literal} is not.
var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}`)
