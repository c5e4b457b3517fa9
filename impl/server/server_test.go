package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
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

// TestServerConcurrentCalls has four producers pipeline twenty batches
// each into one Server from their own goroutines, under random
// stage_write and upload delays (so completions reorder): with the fix
// every call succeeds and each producer's offsets follow its sequence
// order. (internal/agreement checks the recorded histories' invariants.)
func TestServerConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, err := New(Config{TicketOrder: impl.BeforeStage, Rand: rand.New(rand.NewPCG(3, 4)),
			MaxStageDelay: 5 * time.Millisecond, MaxUploadDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		const producers, batches = 4, 20
		var wg sync.WaitGroup
		for p := int64(1); p <= producers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var calls []Stages
				for seq := int32(0); seq < batches; seq++ {
					st, err := srv.Replicate(ctx, impl.Request{Client: p, Partition: "p0",
						Batch: impl.Batch{PID: p, First: seq, Last: seq}})
					if err != nil {
						t.Errorf("producer %d seq %d: %v", p, seq, err)
						return
					}
					calls = append(calls, st)
				}
				last := int64(-1)
				for seq, st := range calls {
					r := <-st.Finished
					if r.Err != impl.Success || r.Offset <= last {
						t.Errorf("producer %d seq %d: got %s, want success at an offset above %d", p, seq, r, last)
					}
					last = r.Offset
				}
			}()
		}
		wg.Wait()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
