package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// PurgeBatch is how many rows one purge statement deletes. Each batch is its
// own short transaction: on SQLite no batch holds the write lock for more
// than a few milliseconds, on PostgreSQL no long transaction builds up.
const PurgeBatch = 250

// batchDelete returns a DELETE of at most $2 rows of table matching where,
// found through the index of where and deleted by the primary key. order,
// when set, is that index's column: the batch is then the oldest rows, read
// in index order, so no data layout can make a scan look cheaper.
func (s *Store) batchDelete(table, key, where, order string) string {
	if order != "" {
		where += ` ORDER BY ` + order
	}
	return `DELETE FROM ` + table + ` WHERE ` + key + ` ` +
		fmt.Sprintf(s.d.InSubquery, `SELECT `+key+` FROM `+table+` WHERE `+where+` LIMIT $2`)
}

// deleteInBatches runs query, a DELETE whose last parameter is the batch
// size, until a batch deletes fewer rows than that, and returns the total.
// Between batches it gives waiting writers their turn.
func (s *Store) deleteInBatches(ctx context.Context, op, query string, args ...any) (int64, error) {
	var total int64
	args = append(args, PurgeBatch)
	for {
		n, err := s.execCount(ctx, op, query, args...)
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, s.translate(op, ctx.Err())
		case <-time.After(purgePause):
		}
	}
}

// purgePause is the rest between two purge batches.
const purgePause = 5 * time.Millisecond
