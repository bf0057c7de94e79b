# The demo stack that `make demo` applies to the local single-node swarm. The image is built
# locally by scripts/swarm-up.sh (a tiny static HTTP server FROM scratch), so no public registry
# is needed.
terraform {
  required_providers {
    swarm = {
      source = "swarmform/swarm"
    }
  }
}

provider "swarm" {}

resource "swarm_service" "web" {
  name     = "demo-web"
  image    = "swarmform-testapp:v1"
  replicas = 1
  labels   = { stack = "demo" }

  env = {
    VERSION = "v1"
  }

  # Host-mode publishing works everywhere, including kernels without IPVS.
  ports = [{ target = 8080, published = 18080, mode = "host" }]

  healthcheck = {
    test     = ["CMD", "/app", "health"]
    interval = "2s"
    timeout  = "2s"
    retries  = 3
  }

  resources = {
    limits       = { cpus = 0.5, memory = "64MiB" }
    reservations = { memory = "16MiB" }
  }

  restart_policy = {
    condition    = "on-failure"
    max_attempts = 3
  }
}

output "service_id" {
  value = swarm_service.web.id
}

output "running_replicas" {
  value = swarm_service.web.running_replicas
}
