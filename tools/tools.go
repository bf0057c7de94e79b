//go:build tools

// Package tools pins the programs that `make docs` runs, in a module of its own so that they
// do not end up in the provider's go.mod.
package tools

import (
	// Generates docs/ from the provider schema, templates/ and examples/.
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
