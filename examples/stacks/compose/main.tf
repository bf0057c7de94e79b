# The compose stack of this directory, deployed by swarm_stack:
#
#   terraform init && terraform apply
#   docker stack services compose     # the Docker CLI sees the same stack
#   curl http://127.0.0.1:8088/fetch?url=http://api:8080/
#
# Edit docker-compose.yml, api.env, web.conf or db_password.txt and plan again: the plan names the
# services that change (their version is known after apply) and warns of each rolling update; a
# changed db_password.txt rotates the secret under the running api tasks.
terraform {
  required_providers {
    swarm = {
      source = "swarmform/swarm"
    }
  }
}

provider "swarm" {}

variable "name" {
  type    = string
  default = "compose"
}

variable "image" {
  type        = string
  default     = "swarmform-testapp:v1"
  description = "Image of every service (the demo serves HTTP on 8080 and has a health subcommand)."
}

variable "web_port" {
  type    = number
  default = 8088
}

resource "swarm_stack" "app" {
  name          = var.name
  compose_files = ["${path.module}/docker-compose.yml"]
  environment = {
    IMAGE    = var.image
    WEB_PORT = tostring(var.web_port)
  }
}

output "services" {
  value = { for k, s in swarm_stack.app.services : k => s.name }
}
