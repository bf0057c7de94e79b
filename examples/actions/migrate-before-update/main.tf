# A database migration that runs before every update of the API service, with Terraform 1.14 or
# newer. An apply that changes swarm_service.api first runs swarm_job.migrate again and waits for
# it: a failed migration stops the apply, and the service keeps its running version.
#
#   terraform apply                                    # creates the job (its first run) and the service
#   terraform apply -var api_version=v2                # runs the migration, then rolls api out
#   terraform apply -invoke=action.swarm_job_run.migrate   # runs it on demand
terraform {
  required_version = ">= 1.14"
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}

provider "swarm" {}

variable "image" {
  type    = string
  default = "swarmform-testapp:v1"
}

variable "name_prefix" {
  type    = string
  default = "shop-"
}

variable "api_version" {
  type    = string
  default = "v1"
}

resource "swarm_job" "migrate" {
  name    = "${var.name_prefix}migrate"
  image   = var.image
  command = ["/app", "cat", "/proc/version"] # stands in for the migration tool
}

action "swarm_job_run" "migrate" {
  config {
    job_id = swarm_job.migrate.id
  }
}

resource "swarm_service" "api" {
  name     = "${var.name_prefix}api"
  image    = var.image
  replicas = 2
  env      = { VERSION = var.api_version }

  lifecycle {
    action_trigger {
      events  = [before_update]
      actions = [action.swarm_job_run.migrate]
    }
  }
}
