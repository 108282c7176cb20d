package azureip

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
// same "values" shape as the downloadable file, so Parse reads it.
func Fetch(ctx context.Context, c *http.Client, discoveryURL, token string) ([]byte, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("azureip: discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.Join(strings.Fields(string(b)), " ")
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, fmt.Errorf("azureip: discovery answered %d: %s", resp.StatusCode, msg)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("azureip: discovery answer larger than %d bytes", MaxFileBytes)
	}
	return b, nil
}
