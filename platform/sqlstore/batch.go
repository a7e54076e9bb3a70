package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
)

// Session lookups share queries past maxBatches in flight, each for at
// most maxBatch sessions. Measured with the bench's (b) on 2 cores: with 4
// in flight, reads at 4 and 16 connections are as fast as with no
// batching and at 64 connections 1.5x; 2 are a little faster at 64 and
// 25 % slower at 4; 8 make smaller batches for the same work.
const (
	maxBatches = 4
	maxBatch   = 64
)

// lookups runs the lookups of one kind of row by id made outside
// transactions (every authenticated request's one query: a session and
// its user, or an API key and its user), sharing queries under load: while
// fewer than maxBatches queries are in flight a lookup runs its own at
// once, in its caller, as if there were no batching; past that it joins a
// queue, and the first query to end hands its slot to a goroutine that
// takes up to maxBatch queued lookups at a time and runs one query for
// them all, until the queue is empty. So the round trip, the database's
// execution and the driver's work are paid per batch, not per request,
// exactly when requests outrun the database. A batch's query starts after
// each of its lookups was asked, so a session ended (or a key revoked)
// before that is not found: revocation stays immediate.
type lookups[R any, P batchRow[R]] struct {
	s     *Store
	one   string             // the query of one id ($1)
	query string             // the query of a list of ids ($1, the dialect's IDList)
	ids   func([][]byte) any // the dialect's IDList
	mu    sync.Mutex
	queue []*lookup[R]
	// running counts the queries in flight: lookups run by their callers
	// and goroutines draining queue.
	running int
	queries atomic.Int64 // run by lookups and batches
}

// batchRow is a row a lookup reads (R, through its pointer P): where its
// columns are scanned to, in order, and the id it is found by.
type batchRow[R any] interface {
	*R
	dest() []any
	key() []byte
}

// A lookup is one caller's id and, once done is closed, its row (found)
// or the batch's error.
type lookup[R any] struct {
	id    []byte
	done  chan struct{}
	b     *batch // set (under mu) when a batch takes the lookup
	row   R
	found bool
	err   error
}

// A batch's query runs until it ends or every caller waiting for it has
// given up.
type batch struct {
	cancel  context.CancelFunc
	waiting int // under lookups.mu
}

// get looks id up. A caller whose ctx ends leaves at once, with ctx's
// error.
func (l *lookups[R, P]) get(ctx context.Context, id []byte) (R, error) {
	var r R
	l.mu.Lock()
	if l.running < maxBatches {
		l.running++
		l.mu.Unlock()
		l.queries.Add(1)
		err := l.s.scanRow(ctx, l.one, []any{id}, P(&r).dest()...)
		l.release()
		return r, err
	}
	lk := &lookup[R]{id: id, done: make(chan struct{})}
	l.queue = append(l.queue, lk)
	l.mu.Unlock()
	select {
	case <-lk.done:
	case <-ctx.Done():
		l.abandon(lk)
		return r, ctx.Err()
	}
	switch {
	case lk.err != nil:
		return r, lk.err
	case !lk.found:
		return r, sql.ErrNoRows
	}
	return lk.row, nil
}

// release ends a caller's query: its slot goes to a goroutine that drains
// the lookups queued meanwhile, if any.
func (l *lookups[R, P]) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) > 0 {
		go l.drain()
		return
	}
	l.running--
}

// abandon takes a lookup whose caller gave up out of the queue, or out of
// its batch, whose query is cancelled once nobody waits for it.
func (l *lookups[R, P]) abandon(lk *lookup[R]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lk.b == nil {
		l.queue = slices.DeleteFunc(l.queue, func(q *lookup[R]) bool { return q == lk })
		return
	}
	if lk.b.waiting--; lk.b.waiting == 0 {
		lk.b.cancel()
	}
}

// drain runs batches until the queue is empty.
func (l *lookups[R, P]) drain() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.running--
			l.mu.Unlock()
			return
		}
		n := min(len(l.queue), maxBatch)
		// Nobody's request: the batch ends when its last caller gives up.
		ctx, cancel := context.WithCancel(context.Background())
		b := &batch{cancel: cancel, waiting: n}
		taken := slices.Clone(l.queue[:n])
		for _, lk := range taken {
			lk.b = b
		}
		l.queue = slices.Delete(l.queue, 0, n)
		l.mu.Unlock()
		l.run(ctx, taken)
		cancel()
	}
}

// run looks up a batch in one query and hands each lookup its row.
func (l *lookups[R, P]) run(ctx context.Context, batch []*lookup[R]) {
	l.queries.Add(1)
	ids := make([][]byte, len(batch))
	for i, lk := range batch {
		ids[i] = lk.id
	}
	err := l.s.retry(ctx, func() error {
		for _, lk := range batch {
			lk.found = false
		}
		rows, err := l.s.queryRows(ctx, l.query, l.ids(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r R
			if err := rows.Scan(P(&r).dest()...); err != nil {
				return err
			}
			for _, lk := range batch {
				if !lk.found && bytes.Equal(lk.id, P(&r).key()) {
					lk.row, lk.found = r, true
				}
			}
		}
		return rows.Err()
	})
	for _, lk := range batch {
		if err != nil {
			lk.found, lk.err = false, err
		}
		close(lk.done)
	}
}

// queryRows runs a query outside any transaction, through its prepared
// statement unless Options.Prepare is off.
func (s *Store) queryRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !s.prepare {
		return s.db.QueryContext(ctx, query, args...)
	}
	st, err := pool{s}.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
