package health

import "context"

// Pinger checks that the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Drain tells whether the process has begun to shut down.
type Drain interface {
	Draining() bool
}
