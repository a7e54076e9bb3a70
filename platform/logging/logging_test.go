package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBufferedLogging(t *testing.T) {
	var sink syncBuf
	out := NewOutput(&sink, time.Hour) // no periodic flush during the test
	log := New("info", "json", out)
	log.Info("request", "status", 200)
	log.Debug("hidden")
	if sink.String() != "" {
		t.Fatalf("an info line was written before a flush: %q", sink.String())
	}
	log.With("request_id", "r1").Error("boom")
	got := sink.String()
	if !strings.Contains(got, `"msg":"request"`) || !strings.Contains(got, `"msg":"boom"`) || !strings.Contains(got, `"request_id":"r1"`) || strings.Contains(got, "hidden") {
		t.Fatalf("an error did not flush the buffered lines in order: %q", got)
	}
	log.Info("last")
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sink.String(), `"msg":"last"`) {
		t.Fatal("Close did not flush")
	}
}

func TestPeriodicFlush(t *testing.T) {
	var sink syncBuf
	out := NewOutput(&sink, 10*time.Millisecond)
	defer out.Close()
	New("info", "text", out).Info("tick")
	for range 500 {
		if strings.Contains(sink.String(), "msg=tick") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the periodic flush never wrote the line")
}
