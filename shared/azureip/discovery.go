package azureip

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// DiscoveryAPIVersion is the api-version of the Service Tag Discovery API
// call (Microsoft.Network/locations/serviceTags).
const DiscoveryAPIVersion = "2024-05-01"

// DiscoveryURL returns the Service Tag Discovery API address for a
// subscription: endpoint is the Resource Manager root
// (https://management.azure.com). The location only selects the version of
// the list; the list covers every region of the subscription's cloud.
func DiscoveryURL(endpoint, subscription, location string) string {
	return strings.TrimRight(endpoint, "/") + "/subscriptions/" + url.PathEscape(subscription) +
		"/providers/Microsoft.Network/locations/" + url.PathEscape(location) +
		"/serviceTags?api-version=" + DiscoveryAPIVersion
}

// Fetch reads the Service Tags list from the Discovery API with a bearer
// token for Resource Manager (scope https://management.azure.com/.default;
// the caller needs read access to the subscription). The answer has the
// same "values" shape as the downloadable file, so Parse reads it. Errors
// name the address without its query and quote at most 300 characters of
// a failed answer; neither they nor the quote ever show the token or any
// other secret (shared/redact).
func Fetch(ctx context.Context, c *http.Client, discoveryURL, token string) ([]byte, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", redact.Error(err))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", redact.Error(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", redact.Error(err))
	}
	if resp.StatusCode != http.StatusOK {
		// The answer may quote the request, credential included.
		msg := string(b[:min(len(b), 4<<10)])
		msg = redact.Values(strings.Join(strings.Fields(msg), " "), token)
		if r := []rune(msg); len(r) > 300 {
			msg = string(r[:300]) + "…"
		}
		return nil, fmt.Errorf("azureip: discovery %s answered %d: %s", redact.URL(discoveryURL), resp.StatusCode, msg)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("azureip: discovery answer larger than %d bytes", MaxFileBytes)
	}
	return b, nil
}
