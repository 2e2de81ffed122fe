// Command argo-validate lints Argo Workflows YAML offline, like
// `argo lint --offline --strict`, using the validation package of Argo
// Workflows itself (github.com/argoproj/argo-workflows/v3/workflow/validate).
//
// Usage:
//
//	argo-validate [-namespace NS] [-target v4|v3] FILE...
//
// All FILEs are read first. Every argoproj.io/v1alpha1 WorkflowTemplate and
// ClusterWorkflowTemplate found in them is kept in memory, so templateRef and
// workflowTemplateRef between the files resolve as with --offline (a
// reference to a template in none of the FILEs is an error). Then each
// Workflow, WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow is
//
//   - decoded strictly: unknown fields, duplicated fields and fields whose
//     case does not match are errors, including inside steps, which Argo's
//     own strict lint decodes leniently below the step's top level;
//   - checked, with -target v4 (the default), for fields that Argo
//     Workflows v4 removed but the v3 Go types still accept: CronWorkflow
//     spec.schedule and synchronization.mutex / synchronization.semaphore;
//   - validated with validate.ValidateWorkflow / ValidateWorkflowTemplate /
//     ValidateClusterWorkflowTemplate / ValidateCronWorkflow, in lint mode
//     as argo lint does.
//
// Other argoproj.io kinds (WorkflowEventBinding, Argo Events, Argo CD ...)
// and all other objects are skipped with a note.
//
// Output: "PATH: Kind/name: OK" per valid object, or
// "PATH:LINE: Kind/name: ERROR: ..." per problem. Exit status 1 if anything
// failed, 2 on usage errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/sirupsen/logrus"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const apiVersion = "argoproj.io/v1alpha1"

type doc struct {
	path string
	line int
	body []byte
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
		Namespace    string `json:"namespace"`
	} `json:"metadata"`
}

// entry is one Argo object to validate.
type entry struct {
	doc
	id        string
	namespace string
	obj       any // nil for skipped documents
	msgs      []string
	failed    bool
}

func main() {
	defaultNS := flag.String("namespace", "default", "namespace assumed for objects that set none (templateRef resolution is per namespace)")
	target := flag.String("target", "v4", "Argo Workflows major version the YAML is written for: v4 rejects fields v4 removed; v3 allows them")
	verbose := flag.Bool("v", false, "show warnings logged by the Argo validation code")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] FILE...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || (*target != "v4" && *target != "v3") {
		flag.Usage()
		os.Exit(2)
	}
	if !*verbose {
		logrus.SetOutput(io.Discard)
	}

	failed := false
	var entries []*entry
	wftGetters := map[string]*wftGetter{}
	cwftGetter := &clusterGetter{m: map[string]*wfv1.ClusterWorkflowTemplate{}}

	for _, path := range flag.Args() {
		docs, err := readDocs(path)
		if err != nil {
			fmt.Printf("%s: ERROR: %v\n", path, err)
			failed = true
			continue
		}
		if len(docs) == 0 {
			fmt.Printf("%s: note: no YAML documents\n", path)
		}
		for _, d := range docs {
			e := decode(d, *defaultNS, *target == "v4")
			entries = append(entries, e)
			switch o := e.obj.(type) {
			case *wfv1.WorkflowTemplate:
				g := wftGetters[e.namespace]
				if g == nil {
					g = &wftGetter{ns: e.namespace, m: map[string]*wfv1.WorkflowTemplate{}}
					wftGetters[e.namespace] = g
				}
				if _, dup := g.m[o.Name]; dup {
					e.errorf("duplicate WorkflowTemplate %q in namespace %q among the files", o.Name, e.namespace)
				}
				g.m[o.Name] = o
			case *wfv1.ClusterWorkflowTemplate:
				if _, dup := cwftGetter.m[o.Name]; dup {
					e.errorf("duplicate ClusterWorkflowTemplate %q among the files", o.Name)
				}
				cwftGetter.m[o.Name] = o
			}
		}
	}

	ctx := context.Background()
	lint := validate.ValidateOpts{Lint: true}
	for _, e := range entries {
		g := wftGetters[e.namespace]
		if g == nil {
			g = &wftGetter{ns: e.namespace, m: map[string]*wfv1.WorkflowTemplate{}}
		}
		if e.obj == nil {
			for _, m := range e.msgs {
				fmt.Println(m)
			}
			failed = failed || e.failed
			continue
		}
		var err error
		switch o := e.obj.(type) {
		case *wfv1.Workflow:
			err = validate.ValidateWorkflow(g, cwftGetter, o, nil, lint)
		case *wfv1.WorkflowTemplate:
			err = validate.ValidateWorkflowTemplate(g, cwftGetter, o, nil, lint)
		case *wfv1.ClusterWorkflowTemplate:
			err = validate.ValidateClusterWorkflowTemplate(nil, cwftGetter, o, nil, lint)
		case *wfv1.CronWorkflow:
			err = validate.ValidateCronWorkflow(ctx, g, cwftGetter, o, nil)
		}
		if err != nil {
			e.errorf("%v", err)
		}
		for _, m := range e.msgs {
			fmt.Println(m)
		}
		if e.failed {
			failed = true
		} else {
			fmt.Printf("%s: %s: OK\n", e.path, e.id)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func (e *entry) errorf(format string, args ...any) {
	e.msgs = append(e.msgs, fmt.Sprintf("%s:%d: %s: ERROR: %s", e.path, e.line, e.id, fmt.Sprintf(format, args...)))
	e.failed = true
}

func (e *entry) notef(format string, args ...any) {
	e.msgs = append(e.msgs, fmt.Sprintf(format, args...))
}

type wftGetter struct {
	ns string
	m  map[string]*wfv1.WorkflowTemplate
}

func (g *wftGetter) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if t, ok := g.m[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("WorkflowTemplate %q (namespace %q) is not defined in any file given", name, g.ns)
}

type clusterGetter struct {
	m map[string]*wfv1.ClusterWorkflowTemplate
}

func (g *clusterGetter) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	if t, ok := g.m[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("ClusterWorkflowTemplate %q is not defined in any file given", name)
}

var (
	_ templateresolution.WorkflowTemplateNamespacedGetter = (*wftGetter)(nil)
	_ templateresolution.ClusterWorkflowTemplateGetter    = (*clusterGetter)(nil)
)

// decode turns one YAML document into an entry: an Argo Workflows object to
// validate (obj set), a skipped document, or a document with errors.
func decode(d doc, defaultNS string, v4 bool) *entry {
	e := &entry{doc: d, id: "(document)"}
	js, err := yaml.YAMLToJSONStrict(d.body)
	if err != nil {
		e.errorf("invalid YAML: %s", yamlErr(err, d.line))
		return e
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		e.errorf("not a Kubernetes object: %v", err)
		return e
	}
	name := tm.Metadata.Name
	if name == "" && tm.Metadata.GenerateName != "" {
		name = tm.Metadata.GenerateName + "*"
	}
	e.id = tm.Kind + "/" + name
	if tm.Kind == "" || tm.APIVersion == "" {
		e.errorf("document has no apiVersion/kind")
		return e
	}

	var obj any
	switch tm.Kind {
	case "Workflow":
		obj = &wfv1.Workflow{}
	case "WorkflowTemplate":
		obj = &wfv1.WorkflowTemplate{}
	case "ClusterWorkflowTemplate":
		obj = &wfv1.ClusterWorkflowTemplate{}
	case "CronWorkflow":
		obj = &wfv1.CronWorkflow{}
	}
	if obj == nil || !strings.HasPrefix(tm.APIVersion, "argoproj.io/") {
		e.notef("%s:%d: %s (%s): skipped, not an Argo Workflows kind this tool validates", d.path, d.line, e.id, tm.APIVersion)
		return e
	}
	e.namespace = tm.Metadata.Namespace
	if e.namespace == "" {
		e.namespace = defaultNS
	}
	if tm.APIVersion != apiVersion {
		e.errorf("apiVersion %q: want %q", tm.APIVersion, apiVersion)
		return e
	}

	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		e.errorf("decode: %v", err)
		return e
	}
	e.obj = obj
	for _, se := range strictErrs {
		e.errorf("%v", se)
	}

	var generic map[string]any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &generic); err == nil {
		spec, _ := generic["spec"].(map[string]any)
		wfSpec, specPath := spec, "spec"
		if tm.Kind == "CronWorkflow" {
			wfSpec, _ = spec["workflowSpec"].(map[string]any)
			specPath = "spec.workflowSpec"
			if _, ok := spec["schedule"]; ok && v4 {
				e.errorf(`unknown field "spec.schedule": removed in Argo Workflows v4, use "spec.schedules: [...]"`)
			}
		}
		checkSteps(e, wfSpec, specPath)
		if v4 {
			checkRemovedSync(e, generic, "")
		}
	}
	return e
}

// checkSteps strictly decodes every step of every steps template: Argo's
// ParallelSteps.UnmarshalJSON only rejects unknown keys at the top level of
// a step, so e.g. a typo under a step's arguments would pass unnoticed.
func checkSteps(e *entry, spec map[string]any, path string) {
	if spec == nil {
		return
	}
	tmpls, _ := spec["templates"].([]any)
	for i, t := range tmpls {
		checkTemplate(e, t, fmt.Sprintf("%s.templates[%d]", path, i))
	}
}

func checkTemplate(e *entry, t any, path string) {
	tm, _ := t.(map[string]any)
	if tm == nil {
		return
	}
	groups, _ := tm["steps"].([]any)
	for i, g := range groups {
		steps, _ := g.([]any)
		for j, s := range steps {
			p := fmt.Sprintf("%s.steps[%d][%d]", path, i, j)
			b, merr := json.Marshal(s)
			if merr != nil {
				continue
			}
			var ws wfv1.WorkflowStep
			strictErrs, err := kjson.UnmarshalStrict(b, &ws)
			if err != nil {
				continue // reported by the whole-object decode
			}
			for _, se := range strictErrs {
				e.errorf("%s: %v", p, se)
			}
			if sm, ok := s.(map[string]any); ok {
				checkTemplate(e, sm["inline"], p+".inline")
			}
		}
	}
	if dag, ok := tm["dag"].(map[string]any); ok {
		tasks, _ := dag["tasks"].([]any)
		for i, task := range tasks {
			if tk, ok := task.(map[string]any); ok {
				checkTemplate(e, tk["inline"], fmt.Sprintf("%s.dag.tasks[%d].inline", path, i))
			}
		}
	}
}

// checkRemovedSync reports synchronization.mutex / synchronization.semaphore,
// which Argo Workflows v4 removed in favour of mutexes / semaphores.
func checkRemovedSync(e *entry, v any, path string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if k == "synchronization" {
				if sm, ok := child.(map[string]any); ok {
					for old, repl := range map[string]string{"mutex": "mutexes", "semaphore": "semaphores"} {
						if _, ok := sm[old]; ok {
							e.errorf(`unknown field "%s.%s": removed in Argo Workflows v4, use "%s" (a list)`, p, old, repl)
						}
					}
				}
			}
			checkRemovedSync(e, child, p)
		}
	case []any:
		for i, child := range x {
			checkRemovedSync(e, child, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

var (
	docSep   = regexp.MustCompile(`^---(\s|$)`)
	yamlLine = regexp.MustCompile(`line (\d+)`)
)

// yamlErr flattens a YAML parser error onto one line and turns its line
// numbers, which count from the start of the document, into file lines.
func yamlErr(err error, docStart int) string {
	msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
		var n int
		fmt.Sscanf(m, "line %d", &n)
		return fmt.Sprintf("line %d", n+docStart-1)
	})
	return strings.Join(strings.Fields(msg), " ")
}

func readDocs(path string) ([]doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []doc
	var cur bytes.Buffer
	start, n := 1, 0
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, doc{path: path, line: start, body: append([]byte(nil), cur.Bytes()...)})
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if docSep.MatchString(line) {
			flush()
			start = n + 1
			continue
		}
		if line == "..." {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	return docs, nil
}

func hasContent(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}
