package store

// BulkFindings exposes the bulk threshold of RecordFindings to the tests,
// which run the dedupe contract below and above it.
const BulkFindings = bulkFindings
