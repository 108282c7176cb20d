package deploy

// What the tests compare: the deployment files (read into infra) and
// what the code reads and needs (codeFacts).

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/demo"
	"github.com/tenantwatch/tenantwatch/shared/pack"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// infra is the deployment files: every file under infra/ and azure.yaml,
// by slash path relative to the repository root.
type infra struct {
	Files map[string]string
	Bicep map[string]*bicepFile
}

const (
	mainBicep       = "infra/main.bicep"
	mainParameters  = "infra/main.parameters.json"
	bicepConfig     = "infra/bicepconfig.json"
	azureYAML       = "azure.yaml"
	graphModule     = "infra/modules/graph-permissions.bicep"
	appConfigModule = "infra/modules/app-config.bicep"
	storageModule   = "infra/modules/storage.bicep"
	functionModule  = "infra/modules/function.bicep"
	keyVaultModule  = "infra/modules/keyvault.bicep"
	serviceTagsMod  = "infra/modules/servicetags-role.bicep"
)

// readInfraFiles reads the deployment files from the repository.
func readInfraFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(filepath.Join(repoRoot, "infra"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, azureYAML))
	if err != nil {
		t.Fatal(err)
	}
	files[azureYAML] = string(b)
	return files
}

// loadInfra parses the files; parse errors come back with it.
func loadInfra(files map[string]string) (*infra, []error) {
	in := &infra{Files: files, Bicep: map[string]*bicepFile{}}
	var errs []error
	for p, src := range files {
		if strings.HasSuffix(p, ".bicep") {
			f := parseBicep(p, src)
			in.Bicep[p] = f
			errs = append(errs, f.Errors...)
		}
	}
	for _, p := range []string{mainBicep, graphModule, appConfigModule, storageModule, functionModule, keyVaultModule, serviceTagsMod} {
		if in.Bicep[p] == nil {
			errs = append(errs, fmt.Errorf("%s is missing", p))
		}
	}
	return in, errs
}

// bicep returns a parsed file, or an empty one (its absence is reported
// by loadInfra).
func (in *infra) bicep(p string) *bicepFile {
	if f := in.Bicep[p]; f != nil {
		return f
	}
	return parseBicep(p, "")
}

// sortedBicep returns the .bicep paths in order.
func (in *infra) sortedBicep() []string {
	var out []string
	for p := range in.Bicep {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// moduleFile returns the parsed file a module declaration of f points to.
func (in *infra) moduleFile(f *bicepFile, m *statement) *bicepFile {
	p := path.Clean(path.Join(path.Dir(f.Path), m.Type))
	return in.Bicep[p]
}

// codeFacts is what the code reads and needs.
type codeFacts struct {
	Settings      map[string]bool      // app settings shared/config reads, and %Name% of function.json
	Schedules     map[string]string    // %Name% of timer triggers → function
	Functions     map[string]*function // functions/<Name>
	Permissions   []string             // permission.Required(permission.Graph)
	Tables        func(prefix string) ([]string, error)
	Production    map[string]string // demo.ProductionSchedules()
	README        string
	Makefile      string
	HostJSON      map[string]any
	FunctionNames []string
	PackEntries   []string // names shared/pack lays out in dist/
}

// function is one functions/<Name>/function.json.
type function struct {
	Name     string
	Bindings []map[string]any
}

var (
	factsOnce sync.Once
	facts     *codeFacts
	factsErr  error
)

func loadFacts(t *testing.T) *codeFacts {
	t.Helper()
	factsOnce.Do(func() { facts, factsErr = readFacts() })
	if factsErr != nil {
		t.Fatal(factsErr)
	}
	return facts
}

func readFacts() (*codeFacts, error) {
	c := &codeFacts{Settings: map[string]bool{}, Schedules: map[string]string{}, Functions: map[string]*function{}}
	names, err := configSettings(filepath.Join(repoRoot, "shared", "config", "config.go"))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		c.Settings[n] = true
	}
	dirs, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		return nil, err
	}
	rePct := regexp.MustCompile(`%(\w+)%`)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(repoRoot, "functions", d.Name(), "function.json"))
		if err != nil {
			return nil, err
		}
		var doc struct {
			Bindings []map[string]any `json:"bindings"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("functions/%s/function.json: %v", d.Name(), err)
		}
		c.Functions[d.Name()] = &function{Name: d.Name(), Bindings: doc.Bindings}
		c.FunctionNames = append(c.FunctionNames, d.Name())
		for _, m := range rePct.FindAllStringSubmatch(string(b), -1) {
			c.Settings[m[1]] = true
		}
		for _, bd := range doc.Bindings {
			if s, _ := bd["schedule"].(string); s != "" {
				if m := rePct.FindStringSubmatch(s); m != nil {
					c.Schedules[m[1]] = d.Name()
				}
			}
		}
	}
	sort.Strings(c.FunctionNames)
	c.Permissions = permission.Required(permission.Graph)
	c.Tables = func(prefix string) ([]string, error) {
		st, err := store.NewTablesFromConnectionString(azuritetest.ConnectionString(1, 2, 3), &store.TablesOptions{Prefix: prefix})
		if err != nil {
			return nil, err
		}
		return st.TableNames(), nil
	}
	c.Production = demo.ProductionSchedules()
	for name, dst := range map[string]*string{"README.md": &c.README, "Makefile": &c.Makefile} {
		b, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			return nil, err
		}
		*dst = string(b)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "host.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c.HostJSON); err != nil {
		return nil, fmt.Errorf("host.json: %v", err)
	}
	// shared/pack needs the executable to exist; an empty stand-in will do.
	tmp, err := os.MkdirTemp("", "deploy-test")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	exe := filepath.Join(tmp, pack.Executable)
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		return nil, err
	}
	entries, err := pack.Layout(repoRoot, exe)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		c.PackEntries = append(c.PackEntries, e.Name)
	}
	return c, nil
}

// configSettings returns the setting names shared/config reads: the
// string literals passed to get(…), and those passed to local helpers
// (func literals) that hand one of their parameters to get, such as
// dur("TENANTWATCH_SWEEP_WINDOW", …).
func configSettings(file string) ([]string, error) {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		return nil, err
	}
	// helpers: local func literal name → index of the parameter given to get.
	helpers := map[string]int{}
	ast.Inspect(af, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		id, ok := as.Lhs[0].(*ast.Ident)
		fl, ok2 := as.Rhs[0].(*ast.FuncLit)
		if !ok || !ok2 || id.Name == "get" {
			return true
		}
		var params []string
		for _, f := range fl.Type.Params.List {
			for _, n := range f.Names {
				params = append(params, n.Name)
			}
		}
		ast.Inspect(fl.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isIdent(call.Fun, "get") || len(call.Args) != 1 {
				return true
			}
			if arg, ok := call.Args[0].(*ast.Ident); ok {
				for i, p := range params {
					if p == arg.Name {
						helpers[id.Name] = i
					}
				}
			}
			return true
		})
		return true
	})
	set := map[string]bool{}
	ast.Inspect(af, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		idx := -1
		if isIdent(call.Fun, "get") {
			idx = 0
		} else if fn, ok := call.Fun.(*ast.Ident); ok {
			if i, ok := helpers[fn.Name]; ok {
				idx = i
			}
		}
		if idx < 0 || idx >= len(call.Args) {
			return true
		}
		if lit, ok := call.Args[idx].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				set[s] = true
			}
		}
		return true
	})
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: found no get(\"…\") calls", file)
	}
	return out, nil
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// errs collects check failures.
type errs []error

func (e *errs) add(format string, args ...any) { *e = append(*e, fmt.Errorf(format, args...)) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
