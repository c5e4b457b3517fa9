package server_test

import (
	"context"
	"fmt"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
)

// ExampleServer makes two replicate calls from one goroutine and waits
// for their stages, as a Kafka connection would.
func ExampleServer() {
	log := history.NewLog(history.Header{})
	srv, err := server.New(server.Config{TicketOrder: impl.BeforeStage, Recorder: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	var calls []server.Stages
	for seq := int32(0); seq < 2; seq++ {
		st, err := srv.Replicate(ctx, impl.Request{Partition: "p0", Batch: impl.Batch{PID: 1, First: seq, Last: seq}})
		if err != nil {
			fmt.Println(err)
			return
		}
		<-st.Enqueued
		calls = append(calls, st)
	}
	for _, st := range calls {
		fmt.Printf("op %d: %s\n", st.Op, <-st.Finished)
	}
	if err := srv.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// op 1: offset=0
	// op 2: offset=1
}
