package funchost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// DevelopmentStorage is the full Azurite connection string that
// "UseDevelopmentStorage=true" stands for (the Go SDKs do not accept the
// shortcut): account devstoreaccount1, Blob 10000, Queue 10001, Table 10002
// on 127.0.0.1.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// ExpandStorage returns conn with "UseDevelopmentStorage=true" replaced by
// DevelopmentStorage; any other value is returned unchanged.
func ExpandStorage(conn string) string {
	if strings.EqualFold(strings.Trim(strings.ReplaceAll(conn, " ", ""), ";"), "UseDevelopmentStorage=true") {
		return DevelopmentStorage
	}
	return conn
}

// storage holds the queue client of the storage account the bindings use.
type storage struct {
	queues *azqueue.ServiceClient

	mu      sync.Mutex
	created map[string]bool // "queue/x" known to exist
}

// retry keeps the SDKs' retries short: a poll that fails is retried by the
// listener's own back-off, and an Azurite restart must not stall it.
var retry = policy.RetryOptions{MaxRetries: 2, TryTimeout: 30 * time.Second, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}

func newStorage(conn string) (*storage, error) {
	q, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: policy.ClientOptions{Retry: retry}})
	if err != nil {
		return nil, fmt.Errorf("funchost: storage connection string: queue: %w", err)
	}
	return &storage{queues: q, created: map[string]bool{}}, nil
}

func (s *storage) known(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[key]
}

func (s *storage) remember(key string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.created[key] = true
	} else {
		delete(s.created, key)
	}
}

// ensureQueue creates the queue unless it is known to exist.
func (s *storage) ensureQueue(ctx context.Context, name string) error {
	if s.known("queue/" + name) {
		return nil
	}
	_, err := s.queues.CreateQueue(ctx, name, nil)
	if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("create queue %s: %w", name, err)
	}
	s.remember("queue/"+name, true)
	return nil
}

// enqueue puts content (already encoded) on the queue, creating the queue
// when it is missing.
func (s *storage) enqueue(ctx context.Context, queue, content string) error {
	if err := s.ensureQueue(ctx, queue); err != nil {
		return err
	}
	q := s.queues.NewQueueClient(queue)
	_, err := q.EnqueueMessage(ctx, content, nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		s.remember("queue/"+queue, false)
		if err = s.ensureQueue(ctx, queue); err == nil {
			_, err = q.EnqueueMessage(ctx, content, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("enqueue to %s: %w", queue, err)
	}
	return nil
}
