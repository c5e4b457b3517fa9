package main

import (
	"context"
	"fmt"
)

// runRecord is not built yet.
func runRecord(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck record: not implemented yet")
	return exitUsage
}
