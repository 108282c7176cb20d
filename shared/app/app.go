// Package app wires the deployed app from its configuration: the Graph
// client, Table and Blob Storage, the Teams sender and the watch engine. It
// is the only place that knows every adapter; `tenantwatch serve` and the
// demo use it.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// NewApp wires the deployed app from its configuration: the Graph client,
// Table and Blob Storage, the Teams sender. It creates the tables and the
// report container if they are missing.
func New(ctx context.Context, cfg config.Config, version string, log *slog.Logger) (*Service, error) {
	auth := graph.AuthAzure
	if cfg.GraphAuth == "none" {
		auth = graph.AuthNone
	}
	gc, err := graph.NewClient(cfg.GraphURL, auth, &graph.ClientOptions{Logger: log, UserAgent: "tenantwatch/" + version})
	if err != nil {
		return nil, err
	}
	var (
		tables  *store.Tables
		reports *blobstore.Container
		tags    *blobstore.Container
	)
	topts := &store.TablesOptions{Prefix: cfg.TablePrefix, Logger: log}
	tagContainer, tagName, _ := strings.Cut(cfg.ServiceTagsBlob, "/")
	if cfg.Storage.IdentityBased() {
		cred, err := graph.ManagedIdentity(cfg.Storage.ClientID)
		if err != nil {
			return nil, err
		}
		if tables, err = store.NewTables(cfg.Storage.TableURL, cred, topts); err != nil {
			return nil, err
		}
		if reports, err = blobstore.NewContainer(cfg.Storage.BlobURL, cred, cfg.ReportContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
			return nil, err
		}
		if tagContainer != "" {
			if tags, err = blobstore.NewContainer(cfg.Storage.BlobURL, cred, tagContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
				return nil, err
			}
		}
	} else {
		if tables, err = store.NewTablesFromConnectionString(cfg.Storage.ConnectionString, topts); err != nil {
			return nil, err
		}
		if reports, err = blobstore.NewContainerFromConnectionString(cfg.Storage.ConnectionString, cfg.ReportContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
			return nil, err
		}
		if tagContainer != "" {
			if tags, err = blobstore.NewContainerFromConnectionString(cfg.Storage.ConnectionString, tagContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
				return nil, err
			}
		}
	}
	if err := tables.Init(ctx); err != nil {
		return nil, fmt.Errorf("table storage: %w", err)
	}
	if err := reports.Init(ctx); err != nil {
		return nil, fmt.Errorf("blob storage: %w", err)
	}
	var sender *notify.Sender
	if cfg.TeamsWebhookURL != "" {
		if sender, err = notify.NewSender(cfg.TeamsWebhookURL, &notify.SenderOptions{Logger: log, AllowHTTPLoopback: cfg.AllowHTTP}); err != nil {
			return nil, err
		}
	}
	opts := &watch.Options{Config: cfg, Sender: sender, Version: version, Logger: log,
		Deliver: &notify.DeliverOptions{BaseBackoff: cfg.DeliveryBackoff}}
	switch {
	case cfg.ServiceTagsFile != "":
		path := cfg.ServiceTagsFile
		opts.ServiceTags = func(context.Context) ([]byte, error) { return os.ReadFile(path) }
	case tags != nil:
		opts.ServiceTags = func(ctx context.Context) ([]byte, error) { return tags.Get(ctx, tagName) }
	case cfg.ServiceTagsSubscription != "":
		cred, err := graph.ManagedIdentity(cfg.Storage.ClientID)
		if err != nil {
			return nil, err
		}
		u := azureip.DiscoveryURL(cfg.ARMURL, cfg.ServiceTagsSubscription, cfg.ServiceTagsLocation)
		opts.ServiceTags = func(ctx context.Context) ([]byte, error) {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cfg.ARMURL + "/.default"}})
			if err != nil {
				return nil, fmt.Errorf("service tag discovery: token: %w", redact.Error(err))
			}
			return azureip.Fetch(ctx, nil, u, tok.Token)
		}
	}
	w, err := watch.New(gc, tables, reports, opts)
	if err != nil {
		return nil, err
	}
	var teams doctor.Teams
	if sender != nil {
		teams = sender
	}
	doc, err := doctor.New(gc, doctor.Facts{Permissions: graph.RequiredPermissions(),
		PermissionSources: graph.PermissionSources, LicenceMissing: graph.LicenceMissing},
		&doctor.Options{Target: cfg.GraphURL, Teams: teams, NotificationURL: cfg.NotificationURL, Logger: log})
	if err != nil {
		return nil, err
	}
	return &Service{App: w, doc: doc}, nil
}

// Service is the deployed app: the functions of watch.App and the
// Doctor function, which runs doctor's checks as the app's own identity.
type Service struct {
	*watch.App
	doc *doctor.Doctor
}

// Doctor runs the checks and returns the report as JSON. The Teams webhook
// is not contacted (a GET must not post to a channel).
func (s *Service) Doctor(ctx context.Context) ([]byte, error) {
	return json.Marshal(s.doc.Run(ctx))
}

// Lazy builds the app on first use, so that the handler answers the
// host's readiness probe at once. A failed build is retried on the next
// invocation.
type Lazy struct {
	Init func(ctx context.Context) (handlers.Service, error)
	mu   sync.Mutex
	svc  handlers.Service
}

func (l *Lazy) get(ctx context.Context) (handlers.Service, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.svc != nil {
		return l.svc, nil
	}
	svc, err := l.Init(ctx)
	if err != nil {
		return nil, fmt.Errorf("start-up: %w", err)
	}
	l.svc = svc
	return svc, nil
}

func (l *Lazy) ClientState(ctx context.Context, id string) (string, bool, error) {
	s, err := l.get(ctx)
	if err != nil {
		return "", false, err
	}
	return s.ClientState(ctx, id)
}

func (l *Lazy) ProcessChanges(ctx context.Context, n webhook.Notification) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.ProcessChanges(ctx, n)
}

func (l *Lazy) Lifecycle(ctx context.Context, n webhook.Notification) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Lifecycle(ctx, n)
}

func (l *Lazy) call(ctx context.Context, f func(handlers.Service, context.Context) error) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return f(s, ctx)
}

func (l *Lazy) PollDirectory(ctx context.Context) error {
	return l.call(ctx, handlers.Service.PollDirectory)
}
func (l *Lazy) PollSignIns(ctx context.Context) error {
	return l.call(ctx, handlers.Service.PollSignIns)
}
func (l *Lazy) DailySweep(ctx context.Context) error {
	return l.call(ctx, handlers.Service.DailySweep)
}
func (l *Lazy) RenewSubscriptions(ctx context.Context) error {
	return l.call(ctx, handlers.Service.RenewSubscriptions)
}
func (l *Lazy) DeliverAlerts(ctx context.Context) error {
	return l.call(ctx, handlers.Service.DeliverAlerts)
}

func (l *Lazy) Doctor(ctx context.Context) ([]byte, error) {
	svc, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return svc.Doctor(ctx)
}

var _ handlers.Service = (*Service)(nil)
