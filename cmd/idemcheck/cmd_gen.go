package main

import (
	"context"
	"fmt"
)

// runGen is not built yet.
func runGen(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "idemcheck gen: not implemented yet")
	return exitUsage
}
