package endothersessions

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct{ kept [][]byte }

func (f *fakeStore) DeleteOtherSessions(_ context.Context, _ uuid.UUID, keep []byte) (int, error) {
	f.kept = append(f.kept, keep)
	return 3, nil
}

type fakeMetrics map[session.EndReason]int

func (m fakeMetrics) SessionsEnded(r session.EndReason, n int) { m[r] += n }

func TestEndOtherSessions(t *testing.T) {
	f, m := &fakeStore{}, fakeMetrics{}
	i := New(f, m)
	if _, err := i.Execute(context.Background(), auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.kept) != 0 {
		t.Fatalf("anonymous: %v", err)
	}
	n, err := i.Execute(context.Background(), auth.Actor{User: user.User{ID: user.NewID()}, SessionID: []byte{7}})
	if err != nil || n != 3 || len(f.kept) != 1 || !bytes.Equal(f.kept[0], []byte{7}) || m[session.EndedByOthers] != 3 {
		t.Fatalf("Execute = %d, %v; kept %v, counted %v", n, err, f.kept, m)
	}
}
