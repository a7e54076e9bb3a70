// Command bare is the bench's floor: a bare net/http server, in a process
// of its own as the service is, that does nothing but what a request of
// (a) or (b) must. The bench builds and starts it; it is not a product.
//
//	GET /    the JSON of GET /api/v1/, reference (f) of (a)
//	GET /me  the session+user query of (b) for one session through the
//	         service's own store and driver, then its user as JSON:
//	         reference (g3) of (b), HTTP and the query in one process
//
// Environment: BARE_ADDRESS (host:port), and for /me BARE_DATABASE_URL
// (postgres://... or sqlite:path), BARE_SESSION_ID (hex) and
// BARE_MAX_OPEN_CONNS.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/user"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

// userJSON is the body of GET /api/v1/auth/me.
type userJSON struct {
	ID        uuid.UUID `json:"id"`
	Username  string    `json:"username"`
	Role      user.Role `json:"role"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func serve() error {
	status := []byte(`{"status":"ok"}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(status)
	})
	if url := os.Getenv("BARE_DATABASE_URL"); url != "" {
		store, err := open(url)
		if err != nil {
			return err
		}
		defer store.Close()
		var ids [][]byte
		for _, h := range strings.Split(os.Getenv("BARE_SESSION_IDS"), ",") {
			id, err := hex.DecodeString(h)
			if err != nil {
				return fmt.Errorf("BARE_SESSION_IDS: %w", err)
			}
			ids = append(ids, id)
		}
		var next atomic.Uint64
		mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
			_, u, err := store.SessionWithUser(r.Context(), ids[next.Add(1)%uint64(len(ids))])
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(userJSON{u.ID, u.Username, u.Role, u.IsActive, u.CreatedAt, u.UpdatedAt})
		})
	}
	return http.ListenAndServe(os.Getenv("BARE_ADDRESS"), mux)
}

// open opens the store as the bench's same-driver references do.
func open(url string) (*sqlstore.Store, error) {
	n, _ := strconv.Atoi(os.Getenv("BARE_MAX_OPEN_CONNS"))
	ctx := context.Background()
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		return sqlite.Open(ctx, path, sqlite.Options{MaxOpenConns: n})
	}
	return postgres.Open(ctx, url, postgres.Options{MaxOpenConns: n})
}
