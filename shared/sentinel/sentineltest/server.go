// Package sentineltest is a local stand-in for the Azure Monitor Logs
// Ingestion API, for tests: an HTTPS server (the azlogs client sends
// tokens over https only) at the documented route
//
//	POST {endpoint}/dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01
//
// that checks the bearer token, the content type and encoding (gzip, as
// tenantwatch sends it), the 1 MB limit, and each row against the
// stream's columns, answers 204 No Content, and keeps the rows it took.
// Failures are injected as answers to give before the next accepted call
// (a 429 with Retry-After, a 500). It imports no tenantwatch code but
// the schema the test hands it.
package sentineltest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// APIVersion is the api-version the azlogs client sends.
const APIVersion = "2023-01-01"

// Token is the access token Credential hands out and the server expects.
const Token = "sentineltest-token"

// Credential is a fake azcore.TokenCredential: it returns Token for the
// Logs Ingestion scope and records the scopes asked.
type Credential struct {
	mu     sync.Mutex
	Scopes []string
}

func (c *Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.Scopes = append(c.Scopes, o.Scopes...)
	c.mu.Unlock()
	return azcore.AccessToken{Token: Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Answer is an injected failure: a status, headers and a body.
type Answer struct {
	Status  int
	Headers map[string]string
	Body    string
}

// Call is one request the server received.
type Call struct {
	Stream   string
	Status   int
	Rows     int
	Encoding string
}

// Server is the fake API.
type Server struct {
	*httptest.Server
	RuleID  string
	columns map[string]map[string]string // stream → column → type

	mu     sync.Mutex
	rows   map[string][]map[string]any
	calls  []Call
	inject []Answer
	errs   []string
}

// New starts a server for the rule ruleID whose streams have the columns
// given (stream → column name → Log Analytics type).
func New(ruleID string, columns map[string]map[string]string) *Server {
	s := &Server{RuleID: ruleID, columns: columns, rows: make(map[string][]map[string]any)}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Inject queues answers given, in order, to the next calls instead of
// taking their rows.
func (s *Server) Inject(as ...Answer) {
	s.mu.Lock()
	s.inject = append(s.inject, as...)
	s.mu.Unlock()
}

// Rows returns the rows taken for stream, in order.
func (s *Server) Rows(stream string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.rows[stream]...)
}

// Calls returns every call received.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Errors returns what the server refused as malformed (a test wants none).
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	s.errs = append(s.errs, fmt.Sprintf("%d %s: %s", status, code, msg))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Encoding: r.Header.Get("Content-Encoding")}
	defer func() { s.calls = append(s.calls, call) }()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 4 || parts[0] != "dataCollectionRules" || parts[2] != "streams" {
		call.Status = 404
		s.fail(w, 404, "NotFound", "no such route: "+r.Method+" "+r.URL.Path)
		return
	}
	call.Stream = parts[3]
	if r.URL.Query().Get("api-version") != APIVersion {
		call.Status = 400
		s.fail(w, 400, "InvalidApiVersion", "api-version "+r.URL.Query().Get("api-version"))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		call.Status = 401
		s.fail(w, 401, "InvalidToken", "missing or wrong bearer token")
		return
	}
	if parts[1] != s.RuleID {
		call.Status = 404
		s.fail(w, 404, "InvalidDataCollectionRule", "no rule "+parts[1])
		return
	}
	cols, ok := s.columns[call.Stream]
	if !ok {
		call.Status = 400
		s.fail(w, 400, "InvalidStream", "the rule has no stream "+call.Stream)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		call.Status = 415
		s.fail(w, 415, "UnsupportedMediaType", ct)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1_000_001))
	if err != nil || len(raw) > 1_000_000 {
		call.Status = 413
		s.fail(w, 413, "ContentLengthLimitExceeded", "over 1 MB")
		return
	}
	if len(s.inject) > 0 {
		a := s.inject[0]
		s.inject = s.inject[1:]
		call.Status = a.Status
		for k, v := range a.Headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
		return
	}
	if call.Encoding == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			raw, err = io.ReadAll(io.LimitReader(zr, 1_000_001))
		}
		if err != nil || len(raw) > 1_000_000 {
			call.Status = 400
			s.fail(w, 400, "InvalidContent", "gzip body does not decode to at most 1 MB")
			return
		}
	}
	var rows []map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		call.Status = 400
		s.fail(w, 400, "InvalidContent", "body is not a JSON array of objects: "+err.Error())
		return
	}
	for i, row := range rows {
		for k, v := range row {
			typ, ok := cols[k]
			if !ok {
				call.Status = 400
				s.fail(w, 400, "InvalidContent", fmt.Sprintf("row %d: no column %s in %s", i, k, call.Stream))
				return
			}
			if msg := checkType(typ, v); msg != "" {
				call.Status = 400
				s.fail(w, 400, "InvalidContent", fmt.Sprintf("row %d: column %s (%s): %s", i, k, typ, msg))
				return
			}
		}
		if _, ok := row["TimeGenerated"]; !ok {
			call.Status = 400
			s.fail(w, 400, "InvalidContent", fmt.Sprintf("row %d: no TimeGenerated", i))
			return
		}
	}
	s.rows[call.Stream] = append(s.rows[call.Stream], rows...)
	call.Status, call.Rows = 204, len(rows)
	w.WriteHeader(http.StatusNoContent)
}

// checkType says what is wrong with v as a value of a column of type typ.
func checkType(typ string, v any) string {
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%T is not a string", v)
		}
	case "datetime":
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("%T is not a datetime string", v)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "not an ISO 8601 time: " + s
		}
	case "int", "long":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Sprintf("%T is not a number", v)
		}
		if _, err := n.Int64(); err != nil {
			return "not an integer: " + n.String()
		}
	case "real":
		if _, ok := v.(json.Number); !ok {
			return fmt.Sprintf("%T is not a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%T is not a boolean", v)
		}
	case "dynamic":
	default:
		return "unknown column type " + typ
	}
	return ""
}
