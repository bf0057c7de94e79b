package tools

// `make docs` runs these from this directory, in order; the first failure stops the rest.

// Format the examples that the docs embed. This also checks that terraform is on PATH:
// tfplugindocs below uses that binary and downloads one only when it finds none.
// CHECKPOINT_DISABLE keeps terraform from asking HashiCorp for a newer version, so nothing
// here goes to the network once the Go module cache is filled.
//go:generate env CHECKPOINT_DISABLE=1 terraform fmt -recursive ../examples/

// Build the provider, read its schema through terraform, and render templates/ and examples/
// into docs/.
//go:generate env CHECKPOINT_DISABLE=1 go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate --provider-dir .. --provider-name swarm
