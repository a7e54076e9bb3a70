package oauthstart

import (
	"context"
	"net/http"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Store counts the client's starts and stores the flow.
type Store interface {
	auth.AttemptStore // for the ceremony limit
	InsertFlow(ctx context.Context, f identity.Flow) error
}

// Providers are the configured identity providers and their authorization
// URLs (for identity.Flows.Begin).
type Providers interface {
	identity.Authorizer
	Provider(id string) (identity.Provider, bool)
}

// Outcomes counts sign-ins by provider and result.
type Outcomes interface {
	OAuthSignIn(provider, result string)
}

// Binding sets the cookie that binds a flow to the browser.
type Binding interface {
	Write(w http.ResponseWriter, secret string)
}
