# Not shown in the documentation: lets `terraform validate` run in this directory.
terraform {
  required_providers {
    swarm = {
      source = "swarmform/swarm"
    }
  }
}
