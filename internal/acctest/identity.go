package acctest

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// IdentityTerraform runs the test's resource.Test with a Terraform that keeps resource
// identities (1.12 and newer: the shared modern binary), or skips the test where there is
// none. The variable is the test's own (t.Setenv), so such a test does not run in parallel.
func IdentityTerraform(t *testing.T) {
	t.Helper()
	SkipUnlessAcc(t)
	t.Setenv("TF_ACC_TERRAFORM_PATH", modernTerraformFor(t, "Terraform >= 1.12 (resource identity)"))
}

// IdentityIs checks that the identity of the resource at addr has exactly the attributes
// attrs, each equal to the state attribute of the same name.
func IdentityIs(addr string, attrs ...string) []statecheck.StateCheck {
	want := map[string]knownvalue.Check{}
	checks := []statecheck.StateCheck{statecheck.ExpectIdentity(addr, want)}
	for _, a := range attrs {
		want[a] = knownvalue.NotNull()
		checks = append(checks, statecheck.ExpectIdentityValueMatchesState(addr, tfjsonpath.New(a)))
	}
	return checks
}

// ImportByIdentity is a step that imports the resource at addr with an import block that
// gives its identity (every attribute of the identity in state), under the previous step's
// configuration: the plan must import it, with the same identity, and change nothing.
func ImportByIdentity(addr string) resource.TestStep {
	return resource.TestStep{ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithResourceIdentity}
}
