package server

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// TestServerTimeoutDoClose checks the server's other entry points: a
// client timeout records Return unknown while the call still finishes,
// Do runs on the server goroutine, and a closed server refuses calls.
func TestServerTimeoutDoClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := history.NewLog(history.Header{})
		srv, err := New(Config{Recorder: log, MaxStageDelay: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := srv.Replicate(ctx, impl.Request{Partition: "p0", Batch: impl.Batch{PID: 9}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Timeout(ctx, st.Op); err != nil {
			t.Fatal(err)
		}
		if r := <-st.Finished; r.Err != impl.Success {
			t.Fatalf("got %s, want success after the client timeout", r)
		}
		var evicted bool
		if err := srv.Do(ctx, func(f *impl.Frontend) { evicted, _ = f.Evict("p0", 9) }); err != nil {
			t.Fatal(err)
		}
		if !evicted {
			t.Error("evict of an idle producer: got false, want true")
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		if _, err := srv.Replicate(ctx, impl.Request{Partition: "p0", Batch: impl.Batch{PID: 9}}); !errors.Is(err, ErrClosed) {
			t.Fatalf("replicate after close: got %v, want ErrClosed", err)
		}
		var kinds []history.Kind
		for _, e := range log.History().Events {
			if e.Kind == history.Return || e.Kind == history.EvictProducer {
				kinds = append(kinds, e.Kind)
			}
		}
		if len(kinds) != 2 || kinds[0] != history.Return || kinds[1] != history.EvictProducer {
			t.Errorf("recorded %v, want [Return EvictProducer] (one Return, unknown)", kinds)
		}
		if r := log.History().Events; r[3].Kind != history.Return || r[3].Result != history.Unknown {
			t.Errorf("event 3: got %s, want Return unknown", r[3])
		}
	})
}
