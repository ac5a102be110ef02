package cli

import "github.com/spf13/cobra"

// addExtraCommands registers the commands beyond init, refresh and build.
func addExtraCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newPantry(g), newRepo(g), newPlan(g), newPrime(g), newEnv(g))
}
