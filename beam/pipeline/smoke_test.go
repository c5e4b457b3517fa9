package pipeline

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
)

func TestPrismSmoke(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	col := beam.Create(s, 1, 2, 3)
	passert.Count(s, col, "count", 3)
	if _, err := prism.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}
