package endothersessions

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	kept [][]byte
	audittest.Trail
}

func (f *fakeStore) DeleteOtherSessions(_ context.Context, _ uuid.UUID, keep []byte) (int, error) {
	f.kept = append(f.kept, keep)
	return 3, nil
}

func TestEndOtherSessions(t *testing.T) {
	f := &fakeStore{}
	i := New(f, time.Now)
	if _, err := i.Execute(context.Background(), auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.kept) != 0 {
		t.Fatalf("anonymous: %v", err)
	}
	alice := user.User{ID: user.NewID()}
	n, err := i.Execute(context.Background(), auth.Actor{User: alice, SessionID: []byte{7}})
	if err != nil || n != 3 || len(f.kept) != 1 || !bytes.Equal(f.kept[0], []byte{7}) {
		t.Fatalf("Execute = %d, %v; kept %v", n, err, f.kept)
	}
	if len(f.Events) != 1 || f.Ended(session.EndedByOthers) != 3 || f.Events[0].Target.ID != alice.ID {
		t.Fatalf("events %+v, want one session.ended (others, 3) of alice", f.Events)
	}
}
