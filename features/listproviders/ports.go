package listproviders

import "github.com/cleanslice/cleanslice/shared/identity"

// Providers are the configured identity providers.
type Providers interface {
	List() []identity.Provider
}
