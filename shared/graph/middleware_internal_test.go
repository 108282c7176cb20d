package graph

import (
	"log/slog"
	"testing"

	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
)

// TestMiddlewareOrder: the Graph defaults are all there, in a fixed order,
// with the SDK's retry handler replaced by exactly one retrier (ours) and
// the tracker innermost.
func TestMiddlewareOrder(t *testing.T) {
	c := &Client{log: slog.New(slog.DiscardHandler)}
	gopts := msgraphsdk.GetDefaultClientOptions()
	for range 5 { // the SDK builds the defaults from a map: try several orders
		mws := c.middleware(&gopts, newLimits(&ClientOptions{}), "")
		if len(mws) != 9 {
			t.Fatalf("got %d middleware, want 8 Graph defaults + tracker: %T", len(mws), mws)
		}
		retries := 0
		for i, m := range mws {
			switch m.(type) {
			case *retrier:
				retries++
			case *khttp.RetryHandler, khttp.RetryHandler:
				t.Errorf("the SDK's retry handler is still in the chain")
			}
			if i > 0 && rank(mws[i-1]) > rank(m) {
				t.Errorf("%T before %T", mws[i-1], m)
			}
		}
		if retries != 1 {
			t.Errorf("%d retriers, want 1", retries)
		}
		if _, ok := mws[len(mws)-1].(tracker); !ok {
			t.Errorf("innermost middleware is %T, want tracker", mws[len(mws)-1])
		}
	}
}
