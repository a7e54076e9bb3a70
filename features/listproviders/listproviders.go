// Package listproviders lists the configured identity providers a
// sign-in page offers: their ids (the start route's) and names.
package listproviders

import (
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor lists providers.
type Interactor struct {
	providers Providers
}

// New returns the interactor.
func New(providers Providers) *Interactor { return &Interactor{providers: providers} }

// Execute returns every configured provider, in the configured order.
func (i *Interactor) Execute() []identity.Provider { return i.providers.List() }
