package provider

// Resource identity (Terraform 1.12 and newer): the attributes that name a resource's object
// in the swarm, kept by Terraform beside the state and usable in an import block
// (`import { to = ..., identity = { id = "..." } }`). Every identity attribute is the state
// attribute of the same name, so one function sets the identity from the state a method
// wrote. Terraform before 1.12 ignores identity; import by ID or name works as before.

import (
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
)

// identityByID is the identity of an object known by its swarm ID alone: a node (its
// hostname is the machine's, and can change under the swarm), a scaling policy (the ID of
// the service it is attached to) and the objects whose name does not identify them.
func identityByID(what string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"id": identityschema.StringAttribute{RequiredForImport: true, Description: what},
		},
	}
}

// identityByIDAndName is the identity of an object whose name is unique among its kind in
// the swarm (a service, a network, a secret, a config): its ID, and its name, which an import
// block may give instead of the ID.
func identityByIDAndName(what, name string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"id":   identityschema.StringAttribute{RequiredForImport: true, Description: what},
			"name": identityschema.StringAttribute{OptionalForImport: true, Description: name},
		},
	}
}
