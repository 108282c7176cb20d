package handlers

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeLoose(t *testing.T) {
	t.Parallel()
	type obj struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	str := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name    string
		raw     json.RawMessage
		into    func() any
		want    any
		wantErr bool
	}{
		{"object", json.RawMessage(`{"a":1,"b":"x"}`), func() any { return new(obj) }, &obj{1, "x"}, false},
		{"object in a string", str(`{"a":1,"b":"x"}`), func() any { return new(obj) }, &obj{1, "x"}, false},
		{"object in a string in a string", str(string(str(`{"a":1,"b":"x"}`))), func() any { return new(obj) }, &obj{1, "x"}, false},
		{"three layers is too many", str(string(str(string(str(`{"a":1}`))))), func() any { return new(obj) }, new(obj), true},
		{"string target keeps its text", str("hello"), func() any { return new(string) }, ptrTo("hello"), false},
		{"string target loses the extra quotes", str(`"5b2f-id"`), func() any { return new(string) }, ptrTo("5b2f-id"), false},
		{"string target whose text is a number", str("5"), func() any { return new(string) }, ptrTo("5"), false},
		{"number in a string", str("5"), func() any { return new(int) }, ptrTo(5), false},
		{"time in a string in a string", str(`"2026-03-18T10:00:00+00:00"`), func() any { return new(time.Time) }, ptrTo(time.Date(2026, 3, 18, 10, 0, 0, 0, time.FixedZone("", 0))), false},
		{"map from \"{}\"", str("{}"), func() any { return new(map[string]string) }, &map[string]string{}, false},
		{"partial fill of a failed layer is reset", str(`{"a":"no","b":"x"}`), func() any { return new(obj) }, new(obj), true},
		{"not JSON", json.RawMessage(`nope`), func() any { return new(obj) }, new(obj), true},
		{"empty", nil, func() any { return new(obj) }, new(obj), true},
		{"null", json.RawMessage(`null`), func() any { return new(obj) }, new(obj), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.into()
			err := decodeLoose(tc.raw, got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("decodeLoose(%s) error = %v, want error %v", tc.raw, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decodeLoose(%s) mismatch (-want +got):\n%s", tc.raw, diff)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestHTTPRequestDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    HTTPRequest
		wantTok string
		wantErr bool
	}{
		{
			name: "host object shape",
			raw:  `{"Url":"https://h/api/F?code=k&validationToken=a%2Bb","Method":"POST","Query":{"code":"k","validationToken":"a+b"},"Headers":{"Content-Type":["text/plain; charset=utf-8"],"X-Many":["1","2"]},"Params":{},"Identities":[{"AuthenticationType":"WebJobsAuthLevel"}],"Body":"{\"value\":[]}"}`,
			want: HTTPRequest{
				URL: "https://h/api/F?code=k&validationToken=a%2Bb", Method: "POST",
				Query:   map[string]string{"code": "k", "validationToken": "a+b"},
				Headers: map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}, "X-Many": {"1", "2"}},
				Body:    `{"value":[]}`, Identities: json.RawMessage(`[{"AuthenticationType":"WebJobsAuthLevel"}]`),
			},
			wantTok: "a+b",
		},
		{
			name: "Query \"{}\" and single-string headers",
			raw:  `{"Url":"https://h/api/F","Method":"POST","Query":"{}","Headers":{"Content-Type":"application/json"},"Body":"x"}`,
			want: HTTPRequest{URL: "https://h/api/F", Method: "POST", Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: "x"},
		},
		{
			name:    "Query as a JSON string of the object (older hosts), non-string values kept as text",
			raw:     `{"Url":"https://h/api/F","Query":"{\"validationToken\":\"t%41\",\"n\":3}","Params":"{\"id\":\"7\"}"}`,
			want:    HTTPRequest{URL: "https://h/api/F", Query: map[string]string{"validationToken": "t%41", "n": "3"}, Params: map[string]string{"id": "7"}},
			wantTok: "t%41",
		},
		{
			name: "unreadable Query, Headers and Params are left empty",
			raw:  `{"Url":"u","Query":"garbage","Headers":{"A":5},"Params":[1]}`,
			want: HTTPRequest{URL: "u", Headers: map[string][]string{}},
		},
		{
			name: "JSON body a host parsed is kept as text; a string body is not unwrapped",
			raw:  `{"Body":{"value":[]}}`,
			want: HTTPRequest{Body: `{"value":[]}`},
		},
		{
			name: "string body that is itself a JSON string",
			raw:  `{"Body":"\"quoted\""}`,
			want: HTTPRequest{Body: `"quoted"`},
		},
		{
			name: "null body",
			raw:  `{"Body":null}`,
			want: HTTPRequest{},
		},
		{
			name:    "the request in a string",
			raw:     `"{\"Url\":\"https://h/api/F?validationToken=x\"}"`,
			want:    HTTPRequest{URL: "https://h/api/F?validationToken=x"},
			wantTok: "x",
		},
		{
			name:    "Url of the wrong type",
			raw:     `{"Url":5}`,
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got HTTPRequest
			err := decodeLoose(json.RawMessage(tc.raw), &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("decode error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decode mismatch (-want +got):\n%s", diff)
			}
			tok, ok := got.ValidationToken()
			if tok != tc.wantTok || ok != (tc.wantTok != "") {
				t.Errorf("ValidationToken() = %q, %v; want %q", tok, ok, tc.wantTok)
			}
		})
	}
}

func TestTimerInfoDecoding(t *testing.T) {
	t.Parallel()
	utc := func(h, m int) time.Time { return time.Date(2026, 3, 18, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		raw  string
		want TimerInfo
	}{
		{
			name: "documented object",
			raw:  `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-03-18T09:58:00+00:00","Next":"2026-03-18T12:00:00+02:00","LastUpdated":"2026-03-18T09:58:00.0043512+00:00"},"IsPastDue":false}`,
			want: TimerInfo{Schedule: TimerSchedule{AdjustForDST: true}, ScheduleStatus: &TimerScheduleStatus{Last: utc(9, 58), Next: utc(10, 0), LastUpdated: utc(9, 58).Add(4351200)}},
		},
		{
			name: "JSON string, zoneless times read as UTC",
			raw:  `"{\"ScheduleStatus\":{\"Last\":\"2026-03-18T09:58:00\",\"Next\":\"2026-03-18T10:00:00\",\"LastUpdated\":\"bogus\"},\"IsPastDue\":true}"`,
			want: TimerInfo{ScheduleStatus: &TimerScheduleStatus{Last: utc(9, 58), Next: utc(10, 0)}, IsPastDue: true},
		},
		{
			name: "null status",
			raw:  `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":true}`,
			want: TimerInfo{Schedule: TimerSchedule{AdjustForDST: true}, IsPastDue: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got TimerInfo
			if err := decodeLoose(json.RawMessage(tc.raw), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueMetadata(t *testing.T) {
	t.Parallel()
	ins := time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		md   string
		want QueueMetadata
	}{
		{
			name: "documented values",
			md:   `{"DequeueCount":2,"Id":"m-1","PopReceipt":"pr","InsertionTime":"2026-03-18T10:00:00+00:00","ExpirationTime":"2026-03-25T10:00:00+00:00","NextVisibleTime":"2026-03-18T10:00:30+00:00","sys":{"MethodName":"ProcessChanges"}}`,
			want: QueueMetadata{ID: "m-1", DequeueCount: 2, PopReceipt: "pr", InsertionTime: ins, ExpirationTime: ins.AddDate(0, 0, 7), NextVisibleTime: ins.Add(30 * time.Second)},
		},
		{
			name: "re-serialised by the host: numbers as strings, strings with their quotes",
			md:   `{"DequeueCount":"5","Id":"\"m-1\"","InsertionTime":"\"2026-03-18T10:00:00+00:00\""}`,
			want: QueueMetadata{ID: "m-1", DequeueCount: 5, InsertionTime: ins},
		},
		{
			name: "keys in another case",
			md:   `{"dequeueCount":3,"id":"m-2"}`,
			want: QueueMetadata{ID: "m-2", DequeueCount: 3},
		},
		{
			name: "garbage and absence leave zero values",
			md:   `{"DequeueCount":"many","InsertionTime":"yesterday"}`,
			want: QueueMetadata{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var md map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.md), &md); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, queueMetadata(md)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
