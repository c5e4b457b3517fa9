package mc

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMC checks each passing config (the 2 × 3 one with -mc.big)
// with 1 and 2 workers and reports states generated per second and the
// distinct-state count, which must not depend on the number of workers.
func BenchmarkMC(b *testing.B) {
	configs := []string{"MCBroker_fixed_1x3.cfg", "MCBroker_fixed_2x2.cfg", "MCBroker_fixed_env_1x2.cfg", "MCBroker_fixed_env_1x3.cfg", "MCBroker_fixed_2x3.cfg"}
	for _, name := range configs {
		if strings.Contains(name, "2x3") && !*big {
			continue
		}
		cfg, err := LoadConfig(tlaDir + "/" + name)
		if err != nil {
			b.Fatal(err)
		}
		var distinct int64
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", strings.TrimSuffix(name, ".cfg"), workers), func(b *testing.B) {
				b.ReportAllocs()
				var res Result
				for b.Loop() {
					res, err = Run(context.Background(), cfg, Options{Workers: workers})
					if err != nil {
						b.Fatal(err)
					}
				}
				if distinct != 0 && res.Distinct != distinct {
					b.Fatalf("%d distinct states with %d workers, %d with 1", res.Distinct, workers, distinct)
				}
				distinct = res.Distinct
				b.ReportMetric(float64(res.Generated)*float64(b.N)/b.Elapsed().Seconds(), "states/s")
				b.ReportMetric(float64(res.Distinct), "distinct")
			})
		}
	}
}
