// Command tekton-validate checks Tekton YAML offline with the real Tekton
// Pipelines API types and the same SetDefaults/Validate code the Tekton
// admission webhook runs.
//
// Usage:
//
//	tekton-validate [-feature-flag key=value]... [-warnings-as-errors] FILE...
//
// Every YAML document in every FILE is inspected:
//
//   - tekton.dev/v1 Task, Pipeline, TaskRun, PipelineRun and
//     tekton.dev/v1beta1 (or v1alpha1) StepAction are decoded strictly
//     (unknown or duplicated fields, and fields whose case does not match,
//     are errors), defaulted with SetDefaults and validated with Validate,
//     using a context that carries the default Tekton configuration
//     (feature flags as shipped, overridable with -feature-flag).
//   - Pipelines whose tasks reference, by plain taskRef name, a Task that is
//     defined in one of the FILEs are also checked for params and
//     workspaces that the Task does not declare or that it requires but the
//     Pipeline does not pass.
//   - any other tekton.dev kind or version is an error (it would otherwise
//     go unvalidated);
//   - everything else (RBAC, ConfigMap, CronJob, triggers.tekton.dev, ...)
//     is skipped with a note.
//
// Output: one line "PATH: Kind/name: OK" per valid object, or one
// "PATH:LINE: Kind/name: ERROR: ..." line per problem. Exit status 1 if
// anything failed, 2 on usage errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1alpha1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"knative.dev/pkg/apis"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// object is what every supported Tekton type implements.
type object interface {
	apis.Defaultable
	apis.Validatable
	GetName() string
}

type doc struct {
	path string
	line int // 1-based line where the document starts
	body []byte
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var flags multiFlag
	flag.Var(&flags, "feature-flag", "override a Tekton feature flag (key=value, as in the feature-flags ConfigMap); repeatable")
	warnErr := flag.Bool("warnings-as-errors", false, "treat Tekton validation warnings as errors")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] FILE...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, err := newContext(flags)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tekton-validate:", err)
		os.Exit(2)
	}

	failed := false
	var all []doc
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
		all = append(all, docs...)
	}
	tasks := collectTasks(ctx, all)
	for _, d := range all {
		if checkDoc(ctx, d, tasks, *warnErr) {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// collectTasks decodes (leniently, quietly) every v1 Task in the files so
// that Pipelines can be checked against the Tasks they reference.
func collectTasks(ctx context.Context, docs []doc) map[string]*v1.Task {
	tasks := map[string]*v1.Task{}
	for _, d := range docs {
		js, err := yaml.YAMLToJSON(d.body)
		if err != nil {
			continue
		}
		var tm typeMeta
		if kjson.UnmarshalCaseSensitivePreserveInts(js, &tm) != nil || tm.APIVersion != "tekton.dev/v1" || tm.Kind != "Task" {
			continue
		}
		t := &v1.Task{}
		if kjson.UnmarshalCaseSensitivePreserveInts(js, t) != nil {
			continue
		}
		t.SetDefaults(ctx)
		tasks[t.Namespace+"/"+t.Name] = t
	}
	return tasks
}

func newContext(overrides []string) (context.Context, error) {
	cfg := config.FromContextOrDefaults(context.Background()) // a fresh copy of every default
	if len(overrides) > 0 {
		m := map[string]string{}
		for _, kv := range overrides {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("-feature-flag %q: want key=value", kv)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		ff, err := config.NewFeatureFlagsFromMap(m)
		if err != nil {
			return nil, fmt.Errorf("feature flags: %w", err)
		}
		cfg.FeatureFlags = ff
	}
	ctx := config.ToContext(context.Background(), cfg)
	// The webhook validates objects being created; some checks only run then.
	return apis.WithinCreate(ctx), nil
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

// readDocs splits a multi-document YAML file, remembering where each
// document starts so that messages can point at it.
func readDocs(path string) ([]doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []doc
	var cur bytes.Buffer
	start, n := 1, 0
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
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

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out.Write(l)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
}

func newObject(apiVersion, kind string) (object, bool) {
	switch apiVersion + "/" + kind {
	case "tekton.dev/v1/Task":
		return &v1.Task{}, true
	case "tekton.dev/v1/Pipeline":
		return &v1.Pipeline{}, true
	case "tekton.dev/v1/TaskRun":
		return &v1.TaskRun{}, true
	case "tekton.dev/v1/PipelineRun":
		return &v1.PipelineRun{}, true
	case "tekton.dev/v1beta1/StepAction":
		return &v1beta1.StepAction{}, true
	case "tekton.dev/v1alpha1/StepAction":
		return &v1alpha1.StepAction{}, true
	}
	return nil, false
}

func checkDoc(ctx context.Context, d doc, tasks map[string]*v1.Task, warnErr bool) (failed bool) {
	where := fmt.Sprintf("%s:%d", d.path, d.line)
	js, err := yaml.YAMLToJSONStrict(d.body)
	if err != nil {
		fmt.Printf("%s: ERROR: invalid YAML: %s\n", where, yamlErr(err, d.line))
		return true
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		// Not a mapping: a stray scalar or list is not a Kubernetes object.
		fmt.Printf("%s: ERROR: not a Kubernetes object: %v\n", where, err)
		return true
	}
	name := tm.Metadata.Name
	if name == "" && tm.Metadata.GenerateName != "" {
		name = tm.Metadata.GenerateName + "*"
	}
	id := tm.Kind + "/" + name
	group, _, _ := strings.Cut(tm.APIVersion, "/")

	obj, ok := newObject(tm.APIVersion, tm.Kind)
	if !ok {
		if group == "tekton.dev" {
			fmt.Printf("%s: %s: ERROR: %s %s is not validated by this tool; author tekton.dev/v1 Task, Pipeline, TaskRun, PipelineRun or tekton.dev/v1beta1 StepAction\n", where, id, tm.APIVersion, tm.Kind)
			return true
		}
		if tm.Kind == "" || tm.APIVersion == "" {
			fmt.Printf("%s: ERROR: document has no apiVersion/kind\n", where)
			return true
		}
		fmt.Printf("%s: %s (%s): skipped, not a Tekton Pipelines kind\n", where, id, tm.APIVersion)
		return false
	}

	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		fmt.Printf("%s: %s: ERROR: decode: %v\n", where, id, err)
		return true
	}
	for _, e := range strictErrs {
		fmt.Printf("%s: %s: ERROR: %v\n", where, id, e)
		failed = true
	}

	// The API server turns generateName into a name before admission.
	if m, ok := obj.(interface {
		GetGenerateName() string
		SetName(string)
	}); ok && obj.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + "x0000")
	}

	obj.SetDefaults(ctx)
	fe := obj.Validate(ctx)
	if fe != nil {
		if errs := fe.Filter(apis.ErrorLevel); errs != nil {
			for _, msg := range splitFieldError(errs) {
				fmt.Printf("%s: %s: ERROR: %s\n", where, id, msg)
			}
			failed = true
		}
		if warns := fe.Filter(apis.WarningLevel); warns != nil {
			for _, msg := range splitFieldError(warns) {
				fmt.Printf("%s: %s: WARNING: %s\n", where, id, msg)
			}
			if warnErr {
				failed = true
			}
		}
	}
	if p, ok := obj.(*v1.Pipeline); ok && crossCheckPipeline(where, p, tasks) {
		failed = true
	}
	if !failed {
		fmt.Printf("%s: %s: OK\n", d.path, id)
	}
	return failed
}

// splitFieldError turns a (possibly nested) FieldError into one message per
// problem; knative joins them with newlines, multi-line details included.
func splitFieldError(fe *apis.FieldError) []string {
	var out []string
	for _, e := range fe.WrappedErrors() {
		out = append(out, strings.ReplaceAll(strings.TrimSpace(e.Error()), "\n", " | "))
	}
	if len(out) == 0 {
		out = append(out, strings.ReplaceAll(strings.TrimSpace(fe.Error()), "\n", " | "))
	}
	sort.Strings(out)
	return out
}

// crossCheckPipeline compares each pipeline task that references, by name,
// a Task defined in the files given with that Task's declared params and
// workspaces. References through resolvers, bundles or to Tasks not among
// the files are left to the cluster.
func crossCheckPipeline(where string, p *v1.Pipeline, tasks map[string]*v1.Task) bool {
	failed := false
	id := "Pipeline/" + p.Name
	pts := append(append([]v1.PipelineTask{}, p.Spec.Tasks...), p.Spec.Finally...)
	for _, pt := range pts {
		ref := pt.TaskRef
		if ref == nil || ref.Name == "" || ref.Resolver != "" || (ref.Kind != "" && ref.Kind != v1.NamespacedTaskKind) {
			continue
		}
		task, ok := tasks[p.Namespace+"/"+ref.Name]
		if !ok {
			continue
		}
		declared := map[string]bool{}
		for _, ps := range task.Spec.Params {
			declared[ps.Name] = true
		}
		passed := map[string]bool{}
		for _, prm := range pt.Params {
			passed[prm.Name] = true
			if !declared[prm.Name] {
				fmt.Printf("%s: %s: ERROR: tasks[%s].params: %q is not a param of Task %q\n", where, id, pt.Name, prm.Name, task.Name)
				failed = true
			}
		}
		for _, ps := range task.Spec.Params {
			if ps.Default == nil && !passed[ps.Name] {
				fmt.Printf("%s: %s: ERROR: tasks[%s].params: Task %q requires param %q, which is not passed\n", where, id, pt.Name, task.Name, ps.Name)
				failed = true
			}
		}
		wsDeclared := map[string]bool{}
		for _, ws := range task.Spec.Workspaces {
			wsDeclared[ws.Name] = true
		}
		wsBound := map[string]bool{}
		for _, wb := range pt.Workspaces {
			wsBound[wb.Name] = true
			if !wsDeclared[wb.Name] {
				fmt.Printf("%s: %s: ERROR: tasks[%s].workspaces: %q is not a workspace of Task %q\n", where, id, pt.Name, wb.Name, task.Name)
				failed = true
			}
		}
		for _, ws := range task.Spec.Workspaces {
			if !ws.Optional && !wsBound[ws.Name] {
				fmt.Printf("%s: %s: ERROR: tasks[%s].workspaces: Task %q requires workspace %q, which is not bound\n", where, id, pt.Name, task.Name, ws.Name)
				failed = true
			}
		}
	}
	return failed
}
