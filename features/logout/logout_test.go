package logout

import (
	"context"
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

type fakeStore struct{ deleted [][]byte }

func (f *fakeStore) DeleteSession(_ context.Context, id []byte) (int, error) {
	f.deleted = append(f.deleted, id)
	return 1, nil
}

func TestLogout(t *testing.T) {
	f := &fakeStore{}
	m := fakeMetrics{}
	i := New(f, m)
	if err := i.Execute(context.Background(), auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.deleted) != 0 {
		t.Fatalf("anonymous logout: %v, %d deletes", err, len(f.deleted))
	}
	if err := i.Execute(context.Background(), auth.Actor{SessionID: []byte("sid")}); err != nil || len(f.deleted) != 1 || string(f.deleted[0]) != "sid" {
		t.Fatalf("logout: %v, deleted %q", err, f.deleted)
	}
}

// fakeMetrics counts ended sessions by reason.
type fakeMetrics map[session.EndReason]int

func (m fakeMetrics) SessionsEnded(r session.EndReason, n int) { m[r] += n }
