package health

import "context"

// Pinger checks that the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}
