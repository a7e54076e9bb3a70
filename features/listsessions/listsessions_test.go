package listsessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct{ asked []uuid.UUID }

func (f *fakeStore) UserSessions(_ context.Context, userID uuid.UUID, _ time.Time) ([]session.Session, error) {
	f.asked = append(f.asked, userID)
	return []session.Session{{ID: []byte{2}}, {ID: []byte{1}}}, nil
}

func TestListSessions(t *testing.T) {
	f := &fakeStore{}
	i := New(f, time.Now)
	if _, err := i.Execute(context.Background(), auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.asked) != 0 {
		t.Fatalf("anonymous: %v", err)
	}
	me := user.User{ID: user.NewID()}
	items, err := i.Execute(context.Background(), auth.Actor{User: me, SessionID: []byte{1}})
	if err != nil || len(items) != 2 || items[0].Current || !items[1].Current || f.asked[0] != me.ID {
		t.Fatalf("Execute = %+v, %v", items, err)
	}
}
