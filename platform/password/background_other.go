//go:build !linux

package password

// inBackground runs f; only Linux lowers the thread's priority.
func inBackground(f func()) { f() }
