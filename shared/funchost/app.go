package funchost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrApp is wrapped by every error Load returns for a malformed app
// (host.json or a function.json); I/O errors are returned as they are.
var ErrApp = errors.New("funchost: invalid app")

// Binding types and directions known to funchost.
const (
	TypeHTTPTrigger  = "httpTrigger"
	TypeHTTP         = "http"
	TypeQueueTrigger = "queueTrigger"
	TypeQueue        = "queue"
	TypeTimerTrigger = "timerTrigger"

	DirectionIn  = "in"
	DirectionOut = "out"

	// ReturnBinding is the name of an output binding fed by ReturnValue.
	ReturnBinding = "$return"
)

// App is a parsed function app: host.json and every function.json.
type App struct {
	// Root is the folder holding host.json.
	Root string
	// Host is the parsed host.json.
	Host HostJSON
	// Functions are sorted by name.
	Functions []Function
}

// HostJSON is the part of host.json that funchost reads.
type HostJSON struct {
	Version string
	// FunctionTimeout bounds each invocation; 0 means no limit.
	FunctionTimeout time.Duration
	CustomHandler   CustomHandler
	Queues          QueuesOptions
}

// CustomHandler is host.json's customHandler section.
type CustomHandler struct {
	// DefaultExecutablePath is the handler binary; a relative path is
	// resolved against the app root first, then looked up on PATH.
	DefaultExecutablePath string
	// WorkingDirectory is the handler's working directory, relative to the
	// app root (default: the app root).
	WorkingDirectory string
	// Arguments are passed to the handler, %SETTING% expanded.
	Arguments []string
}

// QueuesOptions is host.json's extensions.queues section with the
// documented defaults filled in.
type QueuesOptions struct {
	MaxPollingInterval time.Duration // default 1 min, at least 100 ms
	VisibilityTimeout  time.Duration // default 0: a failed message is visible again at once
	BatchSize          int           // default 16, at most 32
	NewBatchThreshold  int           // default BatchSize/2
	MaxDequeueCount    int           // default 5
	MessageEncoding    string        // "base64" (default) or "none"
}

// Function is one function: its folder name and its bindings.
type Function struct {
	Name string
	// Dir is the folder holding function.json.
	Dir      string
	Disabled bool
	Bindings []Binding
}

// Binding is one entry of function.json's bindings. Schedule, QueueName
// and Route may hold %SETTING% references, expanded by New (Load keeps
// them as written).
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	DataType  string   `json:"dataType,omitempty"`
	AuthLevel string   `json:"authLevel,omitempty"` // httpTrigger: anonymous, function (default) or admin
	Methods   []string `json:"methods,omitempty"`   // httpTrigger: allowed methods, all when empty
	Route     string   `json:"route,omitempty"`     // httpTrigger: path below /api/ (default: the function name)

	QueueName  string `json:"queueName,omitempty"`
	Connection string `json:"connection,omitempty"`

	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup bool   `json:"runOnStartup,omitempty"`
	UseMonitor   *bool  `json:"useMonitor,omitempty"`
}

// Trigger returns the function's trigger binding (Load guarantees one).
func (f *Function) Trigger() Binding {
	for _, b := range f.Bindings {
		if isTrigger(b.Type) {
			return b
		}
	}
	return Binding{}
}

// Output returns the output binding called name (case-insensitive).
func (f *Function) Output(name string) (Binding, bool) {
	for _, b := range f.Bindings {
		if b.Direction == DirectionOut && strings.EqualFold(b.Name, name) {
			return b, true
		}
	}
	return Binding{}, false
}

// httpOut returns the function's http output binding, if any.
func (f *Function) httpOut() (Binding, bool) {
	for _, b := range f.Bindings {
		if b.Type == TypeHTTP && b.Direction == DirectionOut {
			return b, true
		}
	}
	return Binding{}, false
}

func isTrigger(t string) bool { return strings.HasSuffix(strings.ToLower(t), "trigger") }

// knownTypes maps a case-insensitive binding type to its canonical
// spelling and the direction it must have.
var knownTypes = map[string]struct{ canonical, direction string }{
	"httptrigger":  {TypeHTTPTrigger, DirectionIn},
	"http":         {TypeHTTP, DirectionOut},
	"queuetrigger": {TypeQueueTrigger, DirectionIn},
	"queue":        {TypeQueue, DirectionOut},
	"timertrigger": {TypeTimerTrigger, DirectionIn},
}

// functionName is the host's rule for function names.
var functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_\-]{0,127}$`)

// Load reads the app at root: host.json there, and the functions in
// root/functions/<Name>/function.json (the repository layout, used when
// root/functions is a folder) or else root/<Name>/function.json (the
// packaged dist/ layout, where folders without function.json are ignored
// as the host ignores them). It validates that folder names are valid
// function names (and equal a "name" property when function.json has
// one), that every function has exactly one trigger, that binding types
// and directions are ones funchost implements, that binding names are
// unique, that required attributes are present and that schedules
// without %SETTING% references parse. Errors wrap ErrApp.
func Load(root string) (*App, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	app := &App{Root: abs}
	hj, err := os.ReadFile(filepath.Join(abs, "host.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrApp, err)
	}
	if app.Host, err = parseHostJSON(hj); err != nil {
		return nil, fmt.Errorf("%w: host.json: %v", ErrApp, err)
	}

	dir, repoLayout := filepath.Join(abs, "functions"), true
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir, repoLayout = abs, false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fdir := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(filepath.Join(fdir, "function.json"))
		if errors.Is(err, fs.ErrNotExist) {
			if repoLayout {
				errs = append(errs, fmt.Errorf("%s: no function.json", rel(abs, fdir)))
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		f, err := parseFunction(e.Name(), fdir, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel(abs, filepath.Join(fdir, "function.json")), err))
			continue
		}
		app.Functions = append(app.Functions, f)
	}
	if len(errs) == 0 && len(app.Functions) == 0 {
		errs = append(errs, fmt.Errorf("no function folders (<Name>/function.json) under %s", dir))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrApp, errors.Join(errs...))
	}
	sort.Slice(app.Functions, func(i, j int) bool { return app.Functions[i].Name < app.Functions[j].Name })
	for i := 1; i < len(app.Functions); i++ {
		if strings.EqualFold(app.Functions[i-1].Name, app.Functions[i].Name) {
			return nil, fmt.Errorf("%w: functions %s and %s differ only in case", ErrApp, app.Functions[i-1].Name, app.Functions[i].Name)
		}
	}
	return app, nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

func parseFunction(name, dir string, raw []byte) (Function, error) {
	var doc struct {
		Name     *string           `json:"name"`
		Disabled json.RawMessage   `json:"disabled"`
		Bindings []json.RawMessage `json:"bindings"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Function{}, err
	}
	if !functionName.MatchString(name) {
		return Function{}, fmt.Errorf("folder name %q is not a valid function name", name)
	}
	if doc.Name != nil && *doc.Name != name {
		return Function{}, fmt.Errorf("name %q does not match its folder %q (folder name = function name = handler route)", *doc.Name, name)
	}
	f := Function{Name: name, Dir: dir}
	if len(doc.Disabled) > 0 {
		d, err := parseBoolish(doc.Disabled)
		if err != nil {
			return Function{}, fmt.Errorf("disabled: %v", err)
		}
		f.Disabled = d
	}
	var errs []error
	triggers := 0
	seen := map[string]bool{}
	for i, rb := range doc.Bindings {
		var b Binding
		if err := json.Unmarshal(rb, &b); err != nil {
			errs = append(errs, fmt.Errorf("binding %d: %v", i, err))
			continue
		}
		if err := checkBinding(&b); err != nil {
			errs = append(errs, fmt.Errorf("binding %d (%s): %v", i, cmpOr(b.Name, b.Type), err))
			continue
		}
		if isTrigger(b.Type) {
			triggers++
		}
		key := strings.ToLower(b.Name)
		if seen[key] {
			errs = append(errs, fmt.Errorf("binding name %q used twice", b.Name))
		}
		seen[key] = true
		f.Bindings = append(f.Bindings, b)
	}
	if len(errs) == 0 && triggers != 1 {
		errs = append(errs, fmt.Errorf("want exactly one trigger binding, found %d", triggers))
	}
	return f, errors.Join(errs...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parseBoolish(raw json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, err
	}
	return strconv.ParseBool(s)
}

// checkBinding validates one binding and canonicalises its type,
// direction and authLevel.
func checkBinding(b *Binding) error {
	kt, ok := knownTypes[strings.ToLower(b.Type)]
	if !ok {
		return fmt.Errorf("binding type %q is not supported (want httpTrigger, http, queueTrigger, queue or timerTrigger)", b.Type)
	}
	b.Type = kt.canonical
	b.Direction = strings.ToLower(b.Direction)
	if b.Direction != kt.direction {
		return fmt.Errorf("%s binding must have direction %q, not %q", b.Type, kt.direction, b.Direction)
	}
	if b.Name == "" {
		return errors.New("no name")
	}
	if b.Name == ReturnBinding && b.Direction != DirectionOut {
		return errors.New("$return must be an output binding")
	}
	need := func(attr, v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s binding needs %s", b.Type, attr)
		}
		return nil
	}
	switch b.Type {
	case TypeHTTPTrigger:
		b.AuthLevel = strings.ToLower(cmpOr(b.AuthLevel, "function"))
		if !slices.Contains([]string{"anonymous", "function", "admin"}, b.AuthLevel) {
			return fmt.Errorf("authLevel %q: want anonymous, function or admin", b.AuthLevel)
		}
		if strings.ContainsAny(b.Route, "{}") {
			return fmt.Errorf("route %q: route templates are not supported by funchost", b.Route)
		}
		for i, m := range b.Methods {
			b.Methods[i] = strings.ToUpper(m)
		}
	case TypeQueueTrigger, TypeQueue:
		return need("queueName", b.QueueName)
	case TypeTimerTrigger:
		if err := need("schedule", b.Schedule); err != nil {
			return err
		}
		if !strings.Contains(b.Schedule, "%") {
			if _, err := ParseSchedule(b.Schedule); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseHostJSON(raw []byte) (HostJSON, error) {
	var doc struct {
		Version         string `json:"version"`
		FunctionTimeout string `json:"functionTimeout"`
		CustomHandler   *struct {
			Description struct {
				DefaultExecutablePath string   `json:"defaultExecutablePath"`
				WorkingDirectory      string   `json:"workingDirectory"`
				Arguments             []string `json:"arguments"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
			EnableProxyingHTTPRequest   bool `json:"enableProxyingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			Queues struct {
				MaxPollingInterval *string `json:"maxPollingInterval"`
				VisibilityTimeout  *string `json:"visibilityTimeout"`
				BatchSize          *int    `json:"batchSize"`
				NewBatchThreshold  *int    `json:"newBatchThreshold"`
				MaxDequeueCount    *int    `json:"maxDequeueCount"`
				MessageEncoding    *string `json:"messageEncoding"`
			} `json:"queues"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return HostJSON{}, err
	}
	h := HostJSON{Version: doc.Version}
	if doc.Version != "2.0" {
		return h, fmt.Errorf("version %q: want \"2.0\"", doc.Version)
	}
	if doc.FunctionTimeout != "" && doc.FunctionTimeout != "-1" {
		d, err := ParseTimeSpan(doc.FunctionTimeout)
		if err != nil {
			return h, fmt.Errorf("functionTimeout: %v", err)
		}
		h.FunctionTimeout = d
	}
	if ch := doc.CustomHandler; ch != nil {
		if ch.EnableForwardingHTTPRequest || ch.EnableProxyingHTTPRequest {
			return h, errors.New("customHandler: HTTP forwarding/proxying is not supported by funchost (keep it off: one protocol for all functions)")
		}
		h.CustomHandler = CustomHandler{
			DefaultExecutablePath: ch.Description.DefaultExecutablePath,
			WorkingDirectory:      ch.Description.WorkingDirectory,
			Arguments:             ch.Description.Arguments,
		}
	}
	q := QueuesOptions{MaxPollingInterval: time.Minute, BatchSize: 16, NewBatchThreshold: -1, MaxDequeueCount: 5, MessageEncoding: "base64"}
	dq := doc.Extensions.Queues
	var err error
	if dq.MaxPollingInterval != nil {
		if q.MaxPollingInterval, err = ParseTimeSpan(*dq.MaxPollingInterval); err != nil {
			return h, fmt.Errorf("extensions.queues.maxPollingInterval: %v", err)
		}
		if q.MaxPollingInterval < 100*time.Millisecond {
			return h, errors.New("extensions.queues.maxPollingInterval: want at least 00:00:00.100")
		}
	}
	if dq.VisibilityTimeout != nil {
		if q.VisibilityTimeout, err = ParseTimeSpan(*dq.VisibilityTimeout); err != nil {
			return h, fmt.Errorf("extensions.queues.visibilityTimeout: %v", err)
		}
	}
	if dq.BatchSize != nil {
		if *dq.BatchSize < 1 || *dq.BatchSize > 32 {
			return h, fmt.Errorf("extensions.queues.batchSize %d: want 1 to 32", *dq.BatchSize)
		}
		q.BatchSize = *dq.BatchSize
	}
	if dq.NewBatchThreshold != nil {
		if *dq.NewBatchThreshold < -1 {
			return h, fmt.Errorf("extensions.queues.newBatchThreshold %d: want -1 (default) or more", *dq.NewBatchThreshold)
		}
		q.NewBatchThreshold = *dq.NewBatchThreshold
	}
	if q.NewBatchThreshold == -1 {
		q.NewBatchThreshold = q.BatchSize / 2
	}
	if dq.MaxDequeueCount != nil {
		if *dq.MaxDequeueCount < 1 {
			return h, fmt.Errorf("extensions.queues.maxDequeueCount %d: want at least 1", *dq.MaxDequeueCount)
		}
		q.MaxDequeueCount = *dq.MaxDequeueCount
	}
	if dq.MessageEncoding != nil {
		q.MessageEncoding = strings.ToLower(*dq.MessageEncoding)
		if q.MessageEncoding != "base64" && q.MessageEncoding != "none" {
			return h, fmt.Errorf("extensions.queues.messageEncoding %q: want base64 or none", *dq.MessageEncoding)
		}
	}
	h.Queues = q
	return h, nil
}

var timeSpan = regexp.MustCompile(`^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$`)

// maxTimeSpanDays is the most days a TimeSpan may give so that the
// duration, with up to 23:59:59.9999999 more, still fits a time.Duration.
const maxTimeSpanDays = math.MaxInt64/int64(24*time.Hour) - 1

// ParseTimeSpan parses a .NET TimeSpan as host.json writes it:
// [d.]hh:mm:ss[.fffffff]. A span longer than a time.Duration holds (about
// 292 years) is an error, not a wrapped-around value.
func ParseTimeSpan(s string) (time.Duration, error) {
	m := timeSpan.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a TimeSpan ([d.]hh:mm:ss[.fff])", s)
	}
	num := func(x string) int64 {
		n, _ := strconv.ParseInt(cmpOr(x, "0"), 10, 64)
		return n
	}
	if d, err := strconv.ParseInt(cmpOr(m[1], "0"), 10, 64); err != nil || d > maxTimeSpanDays {
		return 0, fmt.Errorf("%q: too long (at most %d days)", s, maxTimeSpanDays)
	}
	if num(m[2]) > 23 || num(m[3]) > 59 || num(m[4]) > 59 {
		return 0, fmt.Errorf("%q: field out of range", s)
	}
	frac := (m[5] + "0000000")[:7] // ticks of 100 ns
	d := time.Duration(num(m[1]))*24*time.Hour + time.Duration(num(m[2]))*time.Hour +
		time.Duration(num(m[3]))*time.Minute + time.Duration(num(m[4]))*time.Second +
		time.Duration(num(frac))*100
	return d, nil
}

// settingRef matches a %SETTING% reference.
var settingRef = regexp.MustCompile(`%([^%\s]+)%`)

// expandSettings replaces every %NAME% in s with the setting's value.
func expandSettings(s string, lookup func(string) (string, bool)) (string, error) {
	var missing []string
	out := settingRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[1 : len(ref)-1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("app setting %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// jsonEqualFold looks up key in an object case-insensitively (exact match first).
func jsonEqualFold(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// isNullJSON reports whether raw is JSON null or empty.
func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
