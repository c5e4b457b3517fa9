package main

import (
	"context"
	"fmt"
)

// runCheck is not built yet.
func runCheck(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck check: not implemented yet")
	return exitUsage
}
