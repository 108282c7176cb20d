// Package identity builds the Azure credential a tenantwatch process signs
// in with, to every Azure API it calls: Microsoft Graph, Table and Blob
// Storage, and Resource Manager's Service Tag Discovery API. It is the only
// package that imports azidentity; the wiring (shared/app for the deployed
// app, shared/cli for scan and doctor) calls New once per start and hands
// the one credential to every client, which take an azcore.TokenCredential.
// A credential caches its tokens per scope, so one credential also means
// one token cache.
package identity

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Factory builds a credential for a user-assigned managed identity's
// client id ("" for the default chain): New, or a test's stand-in.
type Factory func(clientID string) (azcore.TokenCredential, error)

// New returns the credential for clientID: the user-assigned managed
// identity with that client id, or, when clientID is empty, azidentity's
// DefaultAzureCredential (the environment's service principal, workload
// identity, the managed identity — AZURE_CLIENT_ID picks a user-assigned
// one —, then the Azure CLI and Azure Developer CLI sign-ins). Building a
// credential sends no request; an error means the environment's settings
// are malformed.
func New(clientID string) (azcore.TokenCredential, error) {
	if clientID != "" {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
		if err != nil {
			return nil, fmt.Errorf("identity: managed identity %s: %w", clientID, err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("identity: azure credential: %w", err)
	}
	return cred, nil
}
