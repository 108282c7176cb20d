package handlers

import (
	"context"
	"fmt"
	"strconv"
)

// doctor is the Doctor function (HTTP GET, function key): the deployed
// app's own check of what it needs — each Graph permission tried as the
// app's managed identity (which cannot sign in anywhere else), the
// licence, named locations, the Teams webhook (not contacted) and its
// subscriptions. It answers the report as JSON; `tenantwatch doctor --app`
// prints it. It reads only; nothing is queued.
func (s *server) doctor(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	body, err := s.svc.Doctor(ctx)
	if err != nil {
		return InvokeResponse{}, fmt.Errorf("doctor: %w", err)
	}
	c := strconv.Itoa(200)
	res := HTTPResponse{StatusCode: c, Status: c, Body: string(body), Headers: map[string]string{
		"Content-Type":           "application/json",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	}}
	return InvokeResponse{Outputs: map[string]any{bindingRes: res}, Logs: []string{"doctor report answered"}}, nil
}
