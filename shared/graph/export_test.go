package graph

// AheadRunning is how many pages c has requested ahead whose goroutine has
// not finished.
func AheadRunning(c *Client) int64 { return c.ahead.Load() }
