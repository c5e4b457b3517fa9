package kafkabroker_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/internal/kafkabroker"
)

// Example serves the reference implementation (with the fix) to a
// franz-go producer and prints the operations it recorded.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := history.NewLog(history.Header{Source: "impl"})
	srv, err := server.New(server.Config{TicketOrder: impl.BeforeStage, Recorder: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := kafkabroker.New(kafkabroker.Config{Server: srv})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- b.Serve(bctx, ln) }()

	cl, _ := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.DefaultProduceTopic("orders"))
	for _, v := range []string{"a", "b", "c"} {
		r, err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).First()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s at offset %d\n", r.Value, r.Offset)
	}
	cl.Close()
	stop()
	<-served
	srv.Close()
	for _, e := range log.History().Events {
		switch e.Kind {
		case history.Replicate:
			fmt.Printf("Replicate op=%d partition=%s seq=[%d,%d]\n", e.Op, e.Partition, e.First, e.Last)
		case history.Return:
			fmt.Printf("Return op=%d %s offset=%d\n", e.Op, e.Result, e.Offset)
		}
	}
	// Output:
	// a at offset 0
	// b at offset 1
	// c at offset 2
	// Replicate op=1 partition=orders/0 seq=[0,0]
	// Return op=1 ok offset=0
	// Replicate op=2 partition=orders/0 seq=[1,1]
	// Return op=2 ok offset=1
	// Replicate op=3 partition=orders/0 seq=[2,2]
	// Return op=3 ok offset=2
}
