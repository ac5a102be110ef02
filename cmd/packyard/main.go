// Command packyard builds Debian source packages in clean isolated
// environments and publishes the results as signed APT repositories.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/packyard/packyard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
