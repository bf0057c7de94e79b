# The shop's database migration: it runs once when created, and again whenever its configuration
# or its triggers change. Terraform applies the api service only after the migration succeeded.
resource "swarm_job" "migrate" {
  name    = "shop-migrate"
  image   = "registry.example.com/shop/api:1.5.0"
  command = ["/app/api", "migrate", "--to=latest"]

  env = {
    DATABASE_URL = "postgres://shop@shop-db:5432/shop?sslmode=disable"
  }

  networks = [{ id = "shop-backend" }]
  secrets  = [{ id = "shop-db-password", file_name = "db_password" }]

  # Run the migration again, in place, whenever the api's release changes.
  triggers = {
    release = "1.5.0"
  }

  # Fail the apply when no task of the migration could start for two minutes.
  progress_deadline = "2m"
}

resource "swarm_service" "api" {
  name     = "shop-api"
  image    = "registry.example.com/shop/api:1.5.0"
  replicas = 3
  networks = [{ id = "shop-backend" }]

  # The new version rolls out only once the migration has completed.
  depends_on = [swarm_job.migrate]
}

# A cache warm-up split into 8 parts, at most 2 running at once. Each task finds its part in
# the slot Swarm gives it ({{.Task.Slot}}, 0 to 7).
resource "swarm_job" "warm_cache" {
  name              = "shop-warm-cache"
  image             = "registry.example.com/shop/tools:2.0.1"
  args              = ["warm-cache", "--parts=8"]
  env               = { PART = "{{.Task.Slot}}" }
  total_completions = 8
  max_concurrent    = 2
  resources         = { limits = { cpus = 0.5, memory = "256MiB" } }
}

# A maintenance task that runs once on every Linux node.
resource "swarm_job" "prune_images" {
  name      = "node-prune-images"
  mode      = "global"
  image     = "registry.example.com/ops/node-tools:1.2.0"
  args      = ["prune-images", "--older-than=168h"]
  mounts    = [{ type = "bind", source = "/var/run/docker.sock", target = "/var/run/docker.sock" }]
  placement = { constraints = ["node.platform.os==linux"] }
}
