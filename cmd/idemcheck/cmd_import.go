package main

import (
	"context"
	"fmt"
)

// runImport is not built yet.
func runImport(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck import: not implemented yet")
	return exitUsage
}
