// Command dockerfile-lint checks Dockerfiles offline with BuildKit's own
// Dockerfile frontend: the rules `docker build --check` runs
// (github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb.DockerfileLint
// and the rules in frontend/dockerfile/linter), plus a build-context check.
//
// Usage:
//
//	dockerfile-lint [-context DIR] [-build-arg K=V]... [-skip Rule,...] DOCKERFILE...
//
// For each DOCKERFILE it reports
//
//   - every BuildKit lint finding (StageNameCasing, FromAsCasing,
//     JSONArgsRecommended, UndefinedVar, UndefinedArgInFrom,
//     MaintainerDeprecated, LegacyKeyValueFormat, SecretsUsedInArgOrEnv,
//     WorkdirRelativePath, ...) and any parse/convert error, exactly as
//     BuildKit words them. Base images are never pulled: an offline resolver
//     answers with an empty linux image of the requested platform whose only
//     variable is the default PATH;
//   - BaseImageNotPinned: a FROM image with no tag or the "latest" tag
//     (hadolint DL3006/DL3007);
//   - CopySourceMissing: a COPY or ADD source (without --from, not a URL,
//     not a heredoc) that matches nothing in the build context;
//   - CopySourceOutsideContext: a source that climbs out of the context;
//   - CopySourceIgnored: a source excluded by the .dockerignore in effect
//     (DOCKERFILE.dockerignore next to the Dockerfile, else
//     CONTEXT/.dockerignore).
//
// Variables in sources are expanded from ARG/ENV defaults and -build-arg
// values; a source that still refers to an unset variable is reported as a
// note and not checked. The build context defaults to the directory holding
// each Dockerfile. Rules can also be skipped in the Dockerfile itself with
// BuildKit's "# check=skip=Rule1,Rule2" directive.
//
// Output: "PATH:LINE: Rule: message" per finding, "PATH: OK" for a clean
// file. Exit status 1 if there was any finding, 2 on usage errors.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type finding struct {
	line int
	rule string
	msg  string
}

func main() {
	contextDir := flag.String("context", "", "build context directory (default: the directory of each Dockerfile)")
	skip := flag.String("skip", "", "comma-separated rule names to ignore")
	var buildArgs multiFlag
	flag.Var(&buildArgs, "build-arg", "build argument K=V, as with docker build; repeatable")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] DOCKERFILE...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	args := map[string]string{}
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "dockerfile-lint: -build-arg %q: want K=V\n", kv)
			os.Exit(2)
		}
		args[k] = v
	}
	skipped := map[string]bool{}
	for _, r := range strings.Split(*skip, ",") {
		if r = strings.TrimSpace(r); r != "" {
			skipped[r] = true
		}
	}

	failed := false
	for _, df := range flag.Args() {
		ctxDir := *contextDir
		if ctxDir == "" {
			ctxDir = filepath.Dir(df)
		}
		fs, err := lintFile(df, ctxDir, args)
		if err != nil {
			fmt.Printf("%s: error: %v\n", df, err)
			failed = true
			continue
		}
		n := 0
		for _, f := range fs {
			if skipped[f.rule] {
				continue
			}
			if f.rule == "note" {
				fmt.Printf("%s:%d: note: %s\n", df, f.line, f.msg)
				continue
			}
			fmt.Printf("%s:%d: %s: %s\n", df, f.line, f.rule, f.msg)
			n++
		}
		if n > 0 {
			failed = true
		} else {
			fmt.Printf("%s: OK\n", df)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func lintFile(df, ctxDir string, buildArgs map[string]string) ([]finding, error) {
	dt, err := os.ReadFile(df)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(ctxDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("build context %q is not a directory", ctxDir)
	}
	var out []finding

	// 1. BuildKit's own checks, as run by `docker build --check`. The source
	// map (which BuildKit attaches findings to) needs an LLB definition; a
	// local source stands in for the Dockerfile's origin, as in dockerui.
	ctx := context.Background()
	src := llb.Local("dockerfile")
	def, err := src.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	smap := llb.NewSourceMap(&src, df, "Dockerfile", dt)
	smap.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: buildArgs},
		SourceMap:    smap,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 && w.Location.Ranges[0].Start != nil {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		msg := w.Detail
		if w.URL != "" {
			msg += " (" + w.URL + ")"
		}
		out = append(out, finding{line, w.RuleName, msg})
	}
	if res.Error != nil {
		line := 0
		if len(res.Error.Location.Ranges) > 0 && res.Error.Location.Ranges[0].Start != nil {
			line = int(res.Error.Location.Ranges[0].Start.Line)
		}
		out = append(out, finding{line, "BuildError", res.Error.Message})
		sortFindings(out)
		return out, nil // the instructions cannot be trusted further
	}

	// 2. Local COPY/ADD sources against the build context.
	fs, err := checkSources(df, dt, ctxDir, buildArgs)
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	sortFindings(out)
	return out, nil
}

func sortFindings(fs []finding) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].line < fs[j].line })
}

// offlineResolver stands in for a registry: it answers every base image
// with an empty image of the requested platform, so linting never touches
// the network.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	osName, arch, variant := "linux", "amd64", ""
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p := opt.ImageOpt.Platform
		osName, arch, variant = p.OS, p.Architecture, p.Variant
	}
	cfg := map[string]any{
		"os":           osName,
		"architecture": arch,
		"config":       map[string]any{"Env": []string{defaultPath}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{}},
	}
	if variant != "" {
		cfg["variant"] = variant
	}
	dt, err := json.Marshal(cfg)
	return ref, "", dt, err
}

// envMap implements shell.EnvGetter.
type envMap map[string]string

func (e envMap) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envMap) Keys() []string {
	ks := make([]string, 0, len(e))
	for k := range e {
		ks = append(ks, k)
	}
	return ks
}

func (e envMap) clone() envMap {
	c := envMap{}
	for k, v := range e {
		c[k] = v
	}
	return c
}

func checkSources(df string, dt []byte, ctxDir string, buildArgs map[string]string) ([]finding, error) {
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, err
	}
	lex := shell.NewLex(ast.EscapeToken)

	ignore, ignoreFile, err := loadIgnore(df, ctxDir)
	if err != nil {
		return nil, err
	}

	// Global ARGs (before the first FROM) are visible in a stage only when
	// re-declared there; keep their values for that.
	global := envMap{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				global[kv.Key] = v
			} else if kv.Value != nil {
				if r, err := lex.ProcessWordWithMatches(*kv.Value, global); err == nil {
					global[kv.Key] = r.Result
				}
			}
		}
	}

	var out []finding
	stageNames := map[string]bool{}
	for _, st := range stages {
		if f, ok := checkBase(st, stageNames, global, lex); ok {
			out = append(out, f)
		}
		if st.Name != "" {
			stageNames[strings.ToLower(st.Name)] = true
		}
		env := envMap{}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					bv, fromBuildArg := buildArgs[kv.Key]
					switch {
					case fromBuildArg:
						env[kv.Key] = bv
					case kv.Value != nil:
						if r, err := lex.ProcessWordWithMatches(*kv.Value, env); err == nil {
							env[kv.Key] = r.Result
						}
					default:
						if v, ok := global[kv.Key]; ok {
							env[kv.Key] = v
						}
					}
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if r, err := lex.ProcessWordWithMatches(kv.Value, env); err == nil {
						env[kv.Key] = r.Result
					}
				}
			case *instructions.CopyCommand:
				if c.From != "" {
					continue // from another stage, image or named context
				}
				out = append(out, checkCopy("COPY", c.Location(), c.SourcePaths, env, lex, ctxDir, ignore, ignoreFile)...)
			case *instructions.AddCommand:
				out = append(out, checkCopy("ADD", c.Location(), c.SourcePaths, env, lex, ctxDir, ignore, ignoreFile)...)
			}
		}
	}
	return out, nil
}

// checkBase reports a base image with no tag or with the "latest" tag (what
// hadolint calls DL3006/DL3007): such builds change whenever the registry
// does. Earlier stages, scratch and names that use unset variables are not
// images to check.
func checkBase(st instructions.Stage, stageNames map[string]bool, global envMap, lex *shell.Lex) (finding, bool) {
	line := 0
	if len(st.Location) > 0 {
		line = st.Location[0].Start.Line
	}
	r, err := lex.ProcessWordWithMatches(st.BaseName, global.clone())
	if err != nil || len(r.Unmatched) > 0 {
		return finding{}, false
	}
	name := r.Result
	if strings.EqualFold(name, "scratch") || stageNames[strings.ToLower(name)] {
		return finding{}, false
	}
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return finding{}, false // BuildKit reports invalid references itself
	}
	if _, ok := ref.(reference.Digested); ok {
		return finding{}, false
	}
	t, ok := ref.(reference.Tagged)
	switch {
	case !ok:
		return finding{line, "BaseImageNotPinned", fmt.Sprintf("base image %q has no tag; pin a version tag or a digest", name)}, true
	case t.Tag() == "latest":
		return finding{line, "BaseImageNotPinned", fmt.Sprintf("base image %q uses the latest tag; pin a version tag or a digest", name)}, true
	}
	return finding{}, false
}

func loadIgnore(df, ctxDir string) (*patternmatcher.PatternMatcher, string, error) {
	candidates := []string{df + ".dockerignore", filepath.Join(ctxDir, ".dockerignore")}
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", p, err)
		}
		pm, err := patternmatcher.New(patterns)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", p, err)
		}
		return pm, p, nil
	}
	return nil, "", nil
}

func isRemote(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

func checkCopy(instr string, loc []parser.Range, sources []string, env envMap, lex *shell.Lex, ctxDir string, ignore *patternmatcher.PatternMatcher, ignoreFile string) []finding {
	line := 0
	if len(loc) > 0 {
		line = loc[0].Start.Line
	}
	var out []finding
	for _, raw := range sources {
		if isRemote(raw) {
			continue
		}
		r, err := lex.ProcessWordWithMatches(raw, env.clone())
		if err != nil {
			out = append(out, finding{line, "note", fmt.Sprintf("%s source %q not checked: %v", instr, raw, err)})
			continue
		}
		if len(r.Unmatched) > 0 {
			out = append(out, finding{line, "note", fmt.Sprintf("%s source %q not checked: it uses unset variable(s) %s", instr, raw, keys(r.Unmatched))})
			continue
		}
		src := r.Result
		if isRemote(src) {
			continue
		}
		// Sources are relative to the context root, even when absolute.
		rel := path.Clean("/" + filepath.ToSlash(src))
		if strings.HasPrefix(path.Clean(filepath.ToSlash(src)), "../") {
			out = append(out, finding{line, "CopySourceOutsideContext", fmt.Sprintf("%s source %q is outside the build context %s", instr, raw, ctxDir)})
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		if rel == "" {
			rel = "."
		}
		full := filepath.Join(ctxDir, filepath.FromSlash(rel))
		matches, err := filepath.Glob(full)
		if err != nil {
			out = append(out, finding{line, "CopySourceMissing", fmt.Sprintf("%s source %q is not a valid pattern: %v", instr, raw, err)})
			continue
		}
		if len(matches) == 0 {
			out = append(out, finding{line, "CopySourceMissing", fmt.Sprintf("%s source %q does not exist in the build context %s", instr, raw, ctxDir)})
			continue
		}
		if ignore == nil || rel == "." {
			continue
		}
		excludedAll := true
		var excluded []string
		for _, m := range matches {
			mrel, err := filepath.Rel(ctxDir, m)
			if err != nil {
				continue
			}
			ok, err := ignore.MatchesOrParentMatches(filepath.ToSlash(mrel))
			if err != nil || !ok {
				excludedAll = false
				continue
			}
			excluded = append(excluded, filepath.ToSlash(mrel))
		}
		if excludedAll && len(excluded) > 0 {
			out = append(out, finding{line, "CopySourceIgnored", fmt.Sprintf("%s source %q is excluded by %s", instr, raw, ignoreFile)})
		}
	}
	return out
}

func keys(m map[string]struct{}) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, "$"+k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
