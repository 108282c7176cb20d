package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DefaultContainer is the container dated reports go to when none is
// named (TENANTWATCH_REPORT_CONTAINER's default).
const DefaultContainer = "reports"

// DefaultMaxGet is the largest blob Container.Get reads (64 MiB).
const DefaultMaxGet = 64 << 20

// Container is one private Blob Storage container: the app writes dated
// reports into one (they describe the tenant's weaknesses) and reads blobs,
// such as a Service Tags file, from another. It is safe for concurrent use.
type Container struct {
	client    *azblob.Client
	container string
	log       *slog.Logger
	maxGet    int64
}

// ContainerOptions tune a Container. Nil or the zero value gives the
// defaults.
type ContainerOptions struct {
	// Logger receives one debug line per upload (default: discard).
	Logger *slog.Logger
	// MaxGet is the largest blob Get reads (default DefaultMaxGet).
	MaxGet int64
}

// validContainer matches Blob Storage container names.
var validContainer = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// NewContainerFromConnectionString opens container ("" = DefaultContainer) in
// the account of a full connection string (Azurite's has BlobEndpoint). It
// refuses the UseDevelopmentStorage=true shortcut, which the SDK does not
// understand (shared/config expands it). It does not touch the network.
func NewContainerFromConnectionString(conn, container string, opts *ContainerOptions) (*Container, error) {
	if strings.Contains(strings.ToLower(strings.Join(strings.Fields(conn), "")), "usedevelopmentstorage=true") {
		return nil, errors.New("blobstore: UseDevelopmentStorage=true must be expanded to the full development connection string first")
	}
	container, err := containerName(container)
	if err != nil {
		return nil, err
	}
	c, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		return nil, fmt.Errorf("blobstore: malformed connection string: %w", redact.Error(err))
	}
	return newContainer(c, container, opts), nil
}

// NewContainer opens container ("" = DefaultContainer) of the account at
// serviceURL (https://<account>.blob.core.windows.net) with an Entra ID
// credential, such as the Function App's managed identity, which needs the
// Storage Blob Data Contributor role. It does not touch the network.
func NewContainer(serviceURL string, cred azcore.TokenCredential, container string, opts *ContainerOptions) (*Container, error) {
	if serviceURL == "" {
		return nil, errors.New("blobstore: empty blob service url")
	}
	if cred == nil {
		return nil, errors.New("blobstore: nil credential")
	}
	container, err := containerName(container)
	if err != nil {
		return nil, err
	}
	c, err := azblob.NewClient(serviceURL, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("blobstore: blob service url: %w", redact.Error(err))
	}
	return newContainer(c, container, opts), nil
}

func containerName(name string) (string, error) {
	if name == "" {
		return DefaultContainer, nil
	}
	if !validContainer.MatchString(name) {
		return "", fmt.Errorf("blobstore: invalid container name %q (3 to 63 lower-case letters, digits and single hyphens)", name)
	}
	return name, nil
}

func newContainer(c *azblob.Client, container string, opts *ContainerOptions) *Container {
	b := &Container{client: c, container: container, log: slog.New(slog.DiscardHandler), maxGet: DefaultMaxGet}
	if opts != nil {
		if opts.Logger != nil {
			b.log = opts.Logger
		}
		if opts.MaxGet > 0 {
			b.maxGet = opts.MaxGet
		}
	}
	return b
}

// Init creates the container, without public access, unless it exists.
func (b *Container) Init(ctx context.Context) error {
	_, err := b.client.CreateContainer(ctx, b.container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return blobErr("create container "+b.container, err)
	}
	return nil
}

// WriteReports renders d as findings.json, findings.csv, report.html and
// findings.ocsf.jsonl and uploads them to YYYY/MM/DD/ of day (in UTC) in
// the container, replacing the day's earlier reports. Each blob has its
// content type (application/json; text/csv and text/html with
// charset=utf-8; application/jsonl) and
// Cache-Control no-store. Nothing is uploaded when a file cannot be
// rendered; an upload failure can leave the day with a mix of old and new
// files, which the next write replaces.
func (b *Container) WriteReports(ctx context.Context, d *report.Document, day time.Time) (report.Written, error) {
	files, err := report.Render(d)
	if err != nil {
		return report.Written{}, err
	}
	folder := day.UTC().Format("2006/01/02") + "/"
	w := report.Written{Prefix: b.container + "/" + folder, URLs: make(map[string]string, len(files))}
	// The client's URLs carry the SAS of a SAS connection string.
	containerURL := redact.URL(b.client.ServiceClient().NewContainerClient(b.container).URL())
	for _, f := range files {
		name := folder + f.Name
		_, err := b.client.UploadBuffer(ctx, b.container, name, f.Data, &azblob.UploadBufferOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &f.ContentType, BlobCacheControl: ptr("no-store")},
		})
		if err != nil {
			return report.Written{}, blobErr("upload "+b.container+"/"+name, err)
		}
		w.URLs[f.Name] = blobURL(containerURL, name)
		b.log.Debug("report uploaded", "blob", b.container+"/"+name, "bytes", len(f.Data))
	}
	return w, nil
}

// previousDays is how many days before a report ReadPreviousReport looks
// for an earlier one.
const previousDays = 7

// ReadPreviousReport reads the most recent findings.json dated before day
// (UTC), looking back at most 7 days, one read per day: the report a day's
// report is compared with (report.Compare). found is false when none of
// those days has one. A report that is not a tenantwatch findings.json is
// an error wrapping report.ErrPrevious; reads are bounded by MaxGet.
func (b *Container) ReadPreviousReport(ctx context.Context, day time.Time) (d *report.Document, found bool, err error) {
	for i := 1; i <= previousDays; i++ {
		name := day.UTC().AddDate(0, 0, -i).Format("2006/01/02") + "/" + report.JSONFile
		data, err := b.Get(ctx, name)
		if errors.Is(err, tenant.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		d, err := report.ReadPrevious(bytes.NewReader(data))
		if err != nil {
			return nil, false, fmt.Errorf("blobstore: read %s/%s: %w", b.container, name, err)
		}
		return d, true, nil
	}
	return nil, false, nil
}

func ptr[T any](v T) *T { return &v }

// blobURL joins a container URL and a blob name, escaping each path
// segment but keeping the slashes (the SDK escapes them as %2F, which
// works but reads badly in a Teams card).
func blobURL(containerURL, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimSuffix(containerURL, "/") + "/" + strings.Join(segs, "/")
}

// Get reads the blob name from the container (for instance a Service
// Tags file uploaded there). A missing blob or container is an error
// wrapping tenant.ErrNotFound; a blob over the size cap (ContainerOptions.MaxGet)
// is refused.
func (b *Container) Get(ctx context.Context, name string) ([]byte, error) {
	what := "read " + b.container + "/" + name
	if name == "" {
		return nil, errors.New("blobstore: read blob: empty name")
	}
	resp, err := b.client.DownloadStream(ctx, b.container, name, nil)
	if err != nil {
		return nil, blobErr(what, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != nil && *resp.ContentLength > b.maxGet {
		return nil, fmt.Errorf("blobstore: %s: %d bytes, over the %d bytes allowed", what, *resp.ContentLength, b.maxGet)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.maxGet+1))
	if err != nil {
		return nil, blobErr(what, err)
	}
	if int64(len(data)) > b.maxGet {
		return nil, fmt.Errorf("blobstore: %s: over the %d bytes allowed", what, b.maxGet)
	}
	return data, nil
}

// blobError is a failed Blob Storage call: one line naming the operation,
// the condition and the cause, unwrapping to the condition's sentinel and
// the cause (often an *azcore.ResponseError, whose own message quotes the
// request URL with its SAS: decide with it, never print it). The line is
// redacted (shared/redact).
type blobError struct {
	op   string
	kind error // tenant.ErrNotFound, tenant.ErrUnreachable or nil
	err  error
}

func (e *blobError) Error() string {
	s := "blobstore: " + e.op
	if e.kind != nil {
		s += ": " + e.kind.Error()
	}
	var re *azcore.ResponseError
	if errors.As(e.err, &re) {
		s += fmt.Sprintf(": %d %s", re.StatusCode, http.StatusText(re.StatusCode))
		if re.ErrorCode != "" {
			s += " (" + re.ErrorCode + ")"
		}
		return s
	}
	return s + ": " + redact.Text(strings.Join(strings.Fields(e.err.Error()), " "))
}

func (e *blobError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

func blobErr(op string, err error) error {
	e := &blobError{op: op, err: err}
	var re *azcore.ResponseError
	var ne net.Error
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound):
		e.kind = tenant.ErrNotFound
	case errors.As(err, &re):
		if re.StatusCode == http.StatusNotFound {
			e.kind = tenant.ErrNotFound
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF):
		e.kind = tenant.ErrUnreachable
	}
	return e
}

// List returns the names of the blobs under prefix in the container, in
// name order.
func (b *Container) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	pager := b.client.NewListBlobsFlatPager(b.container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, blobErr("list "+b.container, err)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name != nil {
				names = append(names, *it.Name)
			}
		}
	}
	return names, nil
}
