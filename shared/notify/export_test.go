package notify

// Internal helpers exposed to the black-box tests.
var (
	Clean = clean
	Limit = limit
)
