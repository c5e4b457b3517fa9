package main

import (
	"context"
	"fmt"
)

// runBroker is not built yet.
func runBroker(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck broker: not implemented yet")
	return exitUsage
}
