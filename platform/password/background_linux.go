package password

import (
	"runtime"
	"syscall"
)

// inBackground runs f on a fresh OS thread at the lowest scheduling
// priority and waits for it. Hashes are long and CPU-bound; at nice 19 the
// kernel runs every other thread of the service (and the database) first,
// so requests that do not hash stay fast while hashes use the idle CPU.
// The thread is discarded afterwards (the goroutine exits still locked to
// it), because an unprivileged process cannot raise its priority back.
func inBackground(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
		f()
		close(done)
	}()
	<-done
}
