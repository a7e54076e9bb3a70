package me

import (
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestExecute(t *testing.T) {
	if _, err := Execute(auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	alice := user.User{ID: user.NewID(), Username: "alice"}
	u, err := Execute(auth.Actor{User: alice, SessionID: []byte{1}})
	if err != nil || u != alice {
		t.Fatalf("Execute = %+v, %v", u, err)
	}
}
