package main

import (
	"context"
	"fmt"
)

// runMC is not built yet.
func runMC(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck mc: not implemented yet")
	return exitUsage
}
