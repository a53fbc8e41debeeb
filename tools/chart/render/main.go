// chart-render renders a Helm chart the way `helm template` does, for checks
// on machines without a helm binary: Go's text/template with sprig (minus env
// and expandenv, as in Helm) and Helm's own functions (include, tpl, required,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray, lookup);
// values from the chart's values.yaml coalesced with -f files (later files
// win, maps merge, null deletes a key); the result validated against
// values.schema.json (JSON Schema draft-07, as Helm does) before rendering;
// "missingkey=zero" and "<no value>" removed from the output, as Helm does.
//
// Output: the rendered documents as YAML (like helm template) or, with
// -output=json, a JSON array of {"source", "object"} with every document
// converted strictly (duplicate keys are an error).
//
// Built from Debian's golang-go, golang-github-masterminds-sprig-dev,
// golang-k8s-sigs-yaml-dev and golang-github-xeipuuv-gojsonschema-dev in
// GOPATH mode (GO111MODULE=off GOPATH=/usr/share/gocode): no download.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var valueFiles fileList
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "dialgrid", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	output := flag.String("output", "yaml", "yaml or json")
	valuesOnly := flag.Bool("values-only", false, "print the coalesced, validated values as JSON and stop")
	flag.Var(&valueFiles, "f", "values file (repeatable; later ones win)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "usage: chart-render -chart DIR [-f values.yaml]... [-output yaml|json]")
		os.Exit(2)
	}
	if err := run(*chartDir, *release, *namespace, *output, *valuesOnly, valueFiles); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	// Helm reads values with sigs.k8s.io/yaml: numbers become float64.
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return out, nil
}

// coalesce merges src (user values) over dst (defaults), as Helm's
// CoalesceTables: maps merge recursively, anything else replaces, and a null
// in src deletes the key.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if v == nil {
			delete(out, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if sok && dok {
			out[k] = coalesce(dm, sm)
		} else {
			out[k] = v
		}
	}
	return out
}

func validateValues(chartDir string, values map[string]interface{}) error {
	schemaPath := filepath.Join(chartDir, "values.schema.json")
	schemaBytes, err := os.ReadFile(schemaPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schemaBytes),
		gojsonschema.NewBytesLoader(valuesJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if result.Valid() {
		return nil
	}
	var msgs []string
	for _, e := range result.Errors() {
		msgs = append(msgs, "- "+e.String())
	}
	sort.Strings(msgs)
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s",
		filepath.Base(chartDir), strings.Join(msgs, "\n"))
}

func funcMap(t **template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromJsonArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := (*t).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := (*t).Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := parsed.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	// No cluster to ask: helm template's lookup returns an empty map too.
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

func chartMeta(chartDir string) (map[string]interface{}, error) {
	raw, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	// Helm exposes Chart.yaml's fields capitalised (.Chart.Name, .Chart.AppVersion).
	meta := map[string]interface{}{}
	for k, v := range raw {
		meta[strings.ToUpper(k[:1])+k[1:]] = v
	}
	if meta["Name"] == nil {
		return nil, errors.New("Chart.yaml has no name")
	}
	return meta, nil
}

var docSplit = regexp.MustCompile(`(?m)^---\s*$`)

func run(chartDir, release, namespace, output string, valuesOnly bool, valueFiles []string) error {
	meta, err := chartMeta(chartDir)
	if err != nil {
		return err
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		user, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		values = coalesce(values, user)
	}
	if err := validateValues(chartDir, values); err != nil {
		return err
	}
	if valuesOnly {
		data, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(data))
		return nil
	}

	chartName := meta["Name"].(string)
	tmplDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(tmplDir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	var t *template.Template
	t = template.New("chart").Funcs(funcMap(&t)).Option("missingkey=zero")
	basePath := chartName + "/templates"
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(tmplDir, n))
		if err != nil {
			return err
		}
		if _, err := t.New(basePath + "/" + n).Parse(string(data)); err != nil {
			return err
		}
	}

	type doc struct {
		Source string      `json:"source"`
		Object interface{} `json:"object"`
	}
	var docs []doc
	var yamlOut strings.Builder
	for _, n := range names {
		if strings.HasPrefix(n, "_") || n == "NOTES.txt" ||
			!(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".tpl")) {
			continue
		}
		name := basePath + "/" + n
		top := map[string]interface{}{
			"Values":  values,
			"Chart":   meta,
			"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Template": map[string]interface{}{"Name": name, "BasePath": basePath},
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, part := range docSplit.Split(text, -1) {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			js, err := yaml.YAMLToJSONStrict([]byte(part))
			if err != nil {
				return fmt.Errorf("%s: rendered YAML does not parse: %w\n%s", name, err, part)
			}
			var obj interface{}
			if err := json.Unmarshal(js, &obj); err != nil {
				return err
			}
			docs = append(docs, doc{name, obj})
			fmt.Fprintf(&yamlOut, "---\n# Source: %s\n%s\n", name, strings.Trim(part, "\n"))
		}
	}
	if output == "json" {
		data, err := json.MarshalIndent(docs, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(data))
	} else {
		fmt.Print(yamlOut.String())
	}
	return nil
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
