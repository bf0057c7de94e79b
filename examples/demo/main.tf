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

# A background worker whose size a scaling policy owns: each plan reads its CPU use and shows
# the decision; each apply scales to what the plan showed. Its `replicas` is only the initial
# size. Make it busy to watch it grow:
#   docker service update --env-add BURN_CPU=1 demo-worker   (then terraform plan)
resource "swarm_service" "worker" {
  name     = "demo-worker"
  image    = "swarmform-testapp:v1"
  replicas = 1
  labels   = { stack = "demo" }

  resources = {
    limits = { cpus = 0.1, memory = "32MiB" }
  }
}

resource "swarm_scaling_policy" "worker" {
  service_id   = swarm_service.worker.id
  min_replicas = 1
  max_replicas = 4

  metrics = [
    { type = "cpu", target_utilization = 60 },
    { type = "memory", target_utilization = 80 },
  ]

  scale_down = { stabilization_window = "1m" }
}

output "service_id" {
  value = swarm_service.web.id
}

output "running_replicas" {
  value = swarm_service.web.running_replicas
}

output "worker_decision" {
  value = swarm_scaling_policy.worker.decision
}
