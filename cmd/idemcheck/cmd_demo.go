package main

import (
	"context"
	"fmt"
)

// runDemo is not built yet.
func runDemo(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck demo: not implemented yet")
	return exitUsage
}
