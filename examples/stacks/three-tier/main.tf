# A three-tier application on Docker Swarm:
#
#   client ──host port──▶ web ──frontend overlay──▶ api ──backend overlay (internal)──▶ store
#
# - web: the public tier. Its port is published in host mode on each node that runs it (the
#   routing mesh needs IPVS; host mode works on every kernel). It reads its settings from a
#   Swarm config mounted as a file.
# - api: two to six replicas, sized by a continuous scaling policy, reading the database
#   password from a Swarm secret. Rolling updates start the new task before stopping the old
#   one and roll back on failure.
# - store: reachable only over the internal backend network: nothing outside the stack, and
#   not the internet, can reach it or be reached from it.
# - autoscaler: the autoscaling controller, one task on each manager. It decides api's policy
#   every 5 seconds and scales api between terraform runs.
#
# Services find each other by name over the overlay networks. endpoint_mode = "dnsrr" makes a
# service's name resolve to its tasks' addresses (no virtual IP), which also works where the
# kernel has no IPVS.
#
# `make demo` applies it to the local swarm, with the controller's image built from the
# checkout and a load switch for api (load_dir). Rotate the password with
#   terraform apply -var db_password=new-value -var db_password_version=2
# and api moves to the new secret in one rolling update, with no failed request.
terraform {
  required_version = ">= 1.11" # write-only secret value (data_wo)
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}

provider "swarm" {}

variable "name" {
  type        = string
  default     = "shop"
  description = "Prefix of every object the stack makes."
}

variable "image" {
  type        = string
  default     = "swarmform-testapp:v1"
  description = "Image of the three tiers (the demo serves HTTP on 8080 and has a health subcommand)."
}

variable "web_port" {
  type        = number
  default     = 18080
  description = "Port that web is published on, on each node that runs it."
}

variable "autoscaler_image" {
  type        = string
  default     = "swarmform/swarm-autoscaler:dev"
  description = "Image of the autoscaling controller: `make autoscaler-image` builds this one from the checkout; a release has swarmform/swarm-autoscaler:<version>."
}

variable "load_dir" {
  type        = string
  default     = null
  description = "A directory on the node, mounted into api's tasks: while it holds a file named `on`, every api task burns CPU (the demo image's BURN_FILE). `make demo` sets it to .dev/demo-load; null mounts nothing."
}

variable "db_password" {
  type        = string
  default     = "demo-only-password"
  sensitive   = true
  ephemeral   = true # never stored in state or a saved plan
  description = "Database password given to api as the file /run/secrets/db_password."
}

variable "db_password_version" {
  type        = number
  default     = 1
  description = "Raise it with a new db_password to rotate the secret."
}

locals {
  labels = { stack = var.name }
  healthcheck = {
    test         = ["CMD", "/app", "health"]
    interval     = "2s"
    timeout      = "10s"
    retries      = 3
    start_period = "5s"
  }
}

resource "swarm_network" "frontend" {
  name   = "${var.name}-frontend"
  labels = local.labels
}

resource "swarm_network" "backend" {
  name     = "${var.name}-backend"
  internal = true # no route out: store is reachable only from the stack
  labels   = local.labels
}

resource "swarm_secret" "db_password" {
  name_prefix     = "${var.name}-db-password-"
  data_wo         = var.db_password
  data_wo_version = var.db_password_version
  labels          = local.labels
}

resource "swarm_config" "web" {
  name_prefix = "${var.name}-web-conf-"
  data        = <<-EOT
    # web settings
    upstream = http://api:8080
    greeting = welcome to ${var.name}
  EOT
  labels      = local.labels
}

resource "swarm_service" "store" {
  name          = "${var.name}-store"
  image         = var.image
  replicas      = 1
  labels        = local.labels
  env           = { VERSION = "store-v1" }
  endpoint_mode = "dnsrr"
  networks      = [{ id = swarm_network.backend.id, aliases = ["store"] }]
  mounts        = [{ type = "tmpfs", target = "/data", tmpfs_size = "16MiB" }]
  healthcheck   = local.healthcheck
  resources = {
    limits       = { cpus = 0.25, memory = "64MiB" }
    reservations = { memory = "16MiB" }
  }
  restart_policy = { condition = "any", delay = "1s" }
}

resource "swarm_service" "api" {
  name          = "${var.name}-api"
  image         = var.image
  replicas      = 2
  labels        = local.labels
  env           = merge({ VERSION = "api-v1" }, var.load_dir == null ? {} : { BURN_FILE = "/load/on" })
  mounts        = var.load_dir == null ? null : [{ type = "bind", source = var.load_dir, target = "/load", read_only = true }]
  endpoint_mode = "dnsrr"
  networks = [
    { id = swarm_network.frontend.id, aliases = ["api"] },
    { id = swarm_network.backend.id },
  ]
  secrets     = [{ id = swarm_secret.db_password.id, file_name = "db_password", mode = "0400" }]
  healthcheck = local.healthcheck
  # A small CPU limit: six tasks burning it use 0.6 CPU.
  resources = {
    limits       = { cpus = 0.1, memory = "64MiB" }
    reservations = { cpus = 0.05, memory = "16MiB" }
  }
  # One task at a time, the new one healthy before the old one stops; a failed update rolls
  # back and fails the apply.
  rolling_update = { parallelism = 1, order = "start-first", monitor = "5s", failure_action = "rollback" }
  restart_policy = { condition = "any", delay = "1s" }
}

# api grows with its CPU use, from 2 to 6 replicas. The controller below decides every
# interval (evaluation = "continuous"): api scales with no terraform run, and a plan shows the
# controller's latest decision without planning a change for it. It scales down once the CPU
# use has been low for a minute.
resource "swarm_scaling_policy" "api" {
  service_id   = swarm_service.api.id
  min_replicas = 2
  max_replicas = 6
  evaluation   = "continuous"
  metrics      = [{ type = "cpu", target_utilization = 70 }]
  scale_down   = { stabilization_window = "1m" }
}

# The autoscaling controller, on the managers (here the one node). It mounts the node's Docker
# socket, which gives it control of the swarm: see the autoscaling guide.
resource "swarm_autoscaler" "this" {
  name     = "${var.name}-autoscaler"
  image    = var.autoscaler_image
  interval = "5s"
}

resource "swarm_service" "web" {
  name        = "${var.name}-web"
  image       = var.image
  replicas    = 1 # a host-mode port: one task per node
  labels      = local.labels
  env         = { VERSION = "web-v1" }
  ports       = [{ target = 8080, published = var.web_port, mode = "host" }]
  networks    = [{ id = swarm_network.frontend.id, aliases = ["web"] }]
  configs     = [{ id = swarm_config.web.id, file_name = "/etc/web/web.conf" }]
  placement   = { max_replicas_per_node = 1 }
  healthcheck = local.healthcheck
  resources = {
    limits = { cpus = 0.25, memory = "64MiB" }
  }
  # The old task frees the host port before the new one takes it.
  rolling_update = { parallelism = 1, order = "stop-first", failure_action = "rollback" }
  restart_policy = { condition = "any", delay = "1s" }
}

output "url" {
  value = "http://127.0.0.1:${var.web_port}/"
}

output "try" {
  description = "Requests that cross the tiers."
  value = {
    web_to_api_to_store = "curl -s 'http://127.0.0.1:${var.web_port}/fetch?url=http://api:8080/fetch%3Furl%3Dhttp://store:8080/'"
    web_config          = "curl -s 'http://127.0.0.1:${var.web_port}/file?path=/etc/web/web.conf'"
    api_has_secret      = "curl -s 'http://127.0.0.1:${var.web_port}/fetch?url=http://api:8080/file%3Fpath%3D/run/secrets/db_password' | wc -c"
  }
}
