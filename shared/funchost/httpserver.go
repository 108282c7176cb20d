package funchost

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// serveHTTP routes the host's HTTP surface: /api/<route> (HTTP triggers),
// /admin/functions/<Name> (manual runs), /admin/host/status and
// /admin/funchost/stats.
func (h *Host) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "funchost %s: a local stand-in for the Azure Functions host; functions are under /api/\n", HostVersion)
	case strings.HasPrefix(p, "/api/"):
		h.serveTrigger(w, r, strings.ToLower(strings.Trim(p[len("/api/"):], "/")))
	case strings.HasPrefix(p, "/admin/"):
		h.serveAdmin(w, r, p)
	default:
		http.NotFound(w, r)
	}
}

// authorized checks the function key: the code query parameter or the
// x-functions-key header. Without a FUNCTIONS_KEY setting any non-empty
// key is accepted (as a reminder that Azure needs one); with it, the key
// must match.
func (h *Host) authorized(r *http.Request) bool {
	got := r.Header.Get("x-functions-key")
	if got == "" {
		got = r.URL.Query().Get("code")
	}
	if got == "" {
		return false
	}
	want, _ := h.lookup("FUNCTIONS_KEY")
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (h *Host) serveTrigger(w http.ResponseWriter, r *http.Request, route string) {
	f, ok := h.routes[route]
	if !ok || (len(f.trigger.Methods) > 0 && !slices.Contains(f.trigger.Methods, r.Method)) {
		// The host's routes include the methods: anything else is 404.
		http.Error(w, "funchost: no function at "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	if f.trigger.AuthLevel != "anonymous" && !h.authorized(r) {
		http.Error(w, "funchost: this function needs a key (?code= or x-functions-key)", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPBody))
	if err != nil {
		http.Error(w, "funchost: request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	data := map[string]any{f.trigger.Name: h.httpRequestData(r, body)}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ",")
	}
	if r.Host != "" {
		headers["Host"] = r.Host
	}
	res, err := h.invoke(r.Context(), f, data, map[string]any{"Query": query, "Headers": headers})
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError) // logged by invoke
		return
	}
	out, ok := f.httpOut()
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	raw := res.Outputs[out.Name]
	if out.Name == ReturnBinding {
		raw = res.ReturnValue
	}
	if isNullJSON(raw) {
		h.log.Warn("the handler set no value for the http output: answering 200 with no body", "function", f.Name, "invocation_id", res.InvocationID, "binding", out.Name)
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := writeHTTPOutput(w, raw); err != nil {
		h.log.Warn("http output is not {statusCode, body, headers}", "function", f.Name, "invocation_id", res.InvocationID, "err", err)
		h.count(f.Name, func(s *FunctionStats) { s.Failures++ })
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// httpRequestData is Data[<req>] as the host builds it.
func (h *Host) httpRequestData(r *http.Request, body []byte) map[string]any {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	headers := map[string][]string{}
	for k, v := range r.Header {
		headers[k] = v
	}
	if r.Host != "" {
		headers["Host"] = []string{r.Host}
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	d := map[string]any{
		"Url":        u,
		"Method":     r.Method,
		"Query":      query,
		"Headers":    headers,
		"Params":     map[string]string{},
		"Identities": []any{},
	}
	if len(body) > 0 {
		if binaryBody(r.Header.Get("Content-Type")) || !utf8.Valid(body) {
			d["Body"] = base64.StdEncoding.EncodeToString(body)
		} else {
			d["Body"] = string(body)
		}
	}
	return d
}

// binaryBody reports whether the host passes a body of this media type as
// bytes (base64): application/octet-stream and multipart/*.
func binaryBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

// writeHTTPOutput writes an http output value: {statusCode (string or
// number; status is an alias), body, headers}, keys case-insensitive. It
// may also arrive as a JSON string holding that object.
func writeHTTPOutput(w http.ResponseWriter, raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return err
	}
	status := http.StatusOK
	sc, ok := jsonEqualFold(obj, "statusCode")
	if !ok || isNullJSON(sc) {
		sc, ok = jsonEqualFold(obj, "status")
	}
	if ok && !isNullJSON(sc) {
		var n json.Number
		var text string
		if json.Unmarshal(sc, &text) == nil {
			n = json.Number(strings.TrimSpace(text))
		} else if err := json.Unmarshal(sc, &n); err != nil {
			return fmt.Errorf("statusCode: %v", err)
		}
		code, err := strconv.Atoi(string(n))
		if err != nil || code < 100 || code > 999 {
			return fmt.Errorf("statusCode %s is not an HTTP status", sc)
		}
		status = code
	}
	var body []byte
	contentType := ""
	if b, ok := jsonEqualFold(obj, "body"); ok && !isNullJSON(b) {
		var text string
		if json.Unmarshal(b, &text) == nil {
			body, contentType = []byte(text), "text/plain; charset=utf-8"
		} else {
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil {
				return err
			}
			body, contentType = buf.Bytes(), "application/json; charset=utf-8"
		}
	}
	if hr, ok := jsonEqualFold(obj, "headers"); ok && !isNullJSON(hr) {
		var hs map[string]json.RawMessage
		if err := json.Unmarshal(hr, &hs); err != nil {
			return fmt.Errorf("headers: %v", err)
		}
		for k, v := range hs {
			var one string
			var many []string
			switch {
			case json.Unmarshal(v, &one) == nil:
				w.Header().Set(k, one)
			case json.Unmarshal(v, &many) == nil:
				for _, m := range many {
					w.Header().Add(k, m)
				}
			default:
				w.Header().Set(k, strings.Trim(string(v), `"`))
			}
		}
	}
	if w.Header().Get("Content-Type") == "" && contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// serveAdmin serves POST /admin/functions/<Name> ({"input":"…"}: run the
// function now, 202), GET /admin/host/status and GET /admin/funchost/stats.
// With a FUNCTIONS_KEY setting they need x-functions-key.
func (h *Host) serveAdmin(w http.ResponseWriter, r *http.Request, p string) {
	if want, _ := h.lookup("FUNCTIONS_KEY"); want != "" && !h.authorized(r) {
		http.Error(w, "funchost: admin endpoints need x-functions-key", http.StatusUnauthorized)
		return
	}
	switch {
	case p == "/admin/host/status" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"state": "Running", "version": HostVersion})
	case p == "/admin/funchost/stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.Stats())
	case strings.HasPrefix(p, "/admin/functions/") && r.Method == http.MethodPost:
		h.serveRun(w, r, strings.Trim(p[len("/admin/functions/"):], "/"))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveRun runs a function in the background with the request's input as
// its trigger value: a timer gets a fresh timer object, a queue function
// the input as message text, an HTTP function a POST with the input as
// body.
func (h *Host) serveRun(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := h.byName[strings.ToLower(name)]
	if !ok {
		http.Error(w, "funchost: no function "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	var in struct {
		Input string `json:"input"`
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPBody))
	if err != nil {
		http.Error(w, "funchost: request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			http.Error(w, `funchost: want {"input":"…"}`, http.StatusBadRequest)
			return
		}
	}
	var data map[string]any
	switch f.trigger.Type {
	case TypeTimerTrigger:
		now := h.now().UTC()
		data = map[string]any{f.trigger.Name: h.timerInfo(f, now, now, false)}
	case TypeQueueTrigger:
		data = map[string]any{f.trigger.Name: triggerString(in.Input)}
	case TypeHTTPTrigger:
		req := map[string]any{"Url": h.HTTPURL() + "/api/" + f.route, "Method": http.MethodPost, "Query": map[string]string{},
			"Headers": map[string][]string{}, "Params": map[string]string{}, "Identities": []any{}}
		if in.Input != "" {
			req["Body"] = in.Input
		}
		data = map[string]any{f.trigger.Name: req}
	}
	h.inflight.Add(1)
	go func() {
		defer h.inflight.Done()
		_, _ = h.invoke(h.runCtx, f, data, nil) // failures are logged by invoke
	}()
	w.WriteHeader(http.StatusAccepted)
}

// triggerString is how the host passes a string trigger value: serialised
// as JSON once more (JObject.FromObject fails on a string, so the host
// falls back to JsonConvert.SerializeObject), so Data[<name>] arrives as a
// JSON string whose content is the JSON string of the text.
func triggerString(text string) string {
	b, _ := json.Marshal(text)
	return string(b)
}
