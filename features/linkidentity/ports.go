package linkidentity

import (
	"context"
	"net/http"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Store counts the client's starts, checks the current password (see
// auth.Guard.Confirm) and stores the flow in the change's transaction.
type Store interface {
	auth.ReauthStore // for auth.Guard.Confirm, and the ceremony limit's windows
	InsertFlow(ctx context.Context, f identity.Flow) error
}

// Providers are the configured identity providers and their authorization
// URLs (for identity.Flows.Begin).
type Providers interface {
	identity.Authorizer
	Provider(id string) (identity.Provider, bool)
}

// Binding sets the cookie that binds a flow to the browser.
type Binding interface {
	Write(w http.ResponseWriter, secret string)
}
