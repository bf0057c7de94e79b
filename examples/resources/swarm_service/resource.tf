resource "swarm_service" "web" {
  name     = "shop-web"
  image    = "registry.example.com/shop/web:1.4.2"
  replicas = 3

  args = ["--listen=:8080", "--metrics-listen=:9090"]

  env = {
    LOG_LEVEL    = "info"
    DATABASE_URL = "postgres://shop@shop-db:5432/shop?sslmode=disable"
  }

  labels = {
    team = "storefront"
  }

  ports = [
    # Through the routing mesh: port 80 on every node reaches some task.
    { target = 8080, published = 80 },
    # Only on the nodes that run a task, for a scraper that targets each task.
    { target = 9090, published = 9090, mode = "host" },
  ]

  healthcheck = {
    # Exec form: the image needs no shell.
    test         = ["CMD", "/app/web", "healthcheck"]
    interval     = "10s"
    timeout      = "3s"
    retries      = 3
    start_period = "20s"
  }

  resources = {
    limits       = { cpus = 1, memory = "512MiB" }
    reservations = { cpus = 0.25, memory = "128MiB" }
  }

  restart_policy = {
    condition    = "on-failure"
    delay        = "5s"
    max_attempts = 5
    window       = "2m"
  }

  placement = {
    constraints           = ["node.role==worker"]
    preferences           = ["spread=node.labels.zone"]
    max_replicas_per_node = 2
  }

  mounts = [
    { type = "volume", source = "shop-web-cache", target = "/var/cache/web" },
    { type = "bind", source = "/etc/ssl/certs", target = "/etc/ssl/certs", read_only = true },
    { type = "tmpfs", target = "/tmp", tmpfs_size = "64MiB" },
  ]

  log_driver = {
    name = "json-file"
    options = {
      max-size = "10m"
      max-file = "3"
    }
  }

  stop_grace_period = "30s"

  # Each create and update waits for the rollout; allow for slow image pulls.
  timeouts = {
    create = "15m"
    update = "15m"
  }
}
