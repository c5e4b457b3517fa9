package main

import (
	"context"
	"fmt"
)

// runValidate is not built yet.
func runValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck validate: not implemented yet")
	return exitUsage
}
