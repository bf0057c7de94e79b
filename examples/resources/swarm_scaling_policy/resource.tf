resource "swarm_service" "web" {
  name     = "shop-web"
  image    = "registry.example.com/shop/web:1.4.2"
  replicas = 2 # the initial size only: the policy below owns the count from now on

  resources = {
    limits       = { cpus = 0.5, memory = "256MiB" }
    reservations = { cpus = 0.25, memory = "128MiB" }
  }
  placement = { max_replicas_per_node = 3 }
}

resource "swarm_scaling_policy" "web" {
  service_id   = swarm_service.web.id
  min_replicas = 2
  max_replicas = 10

  metrics = [
    # Average CPU use of the running tasks, in percent of their CPU limit.
    { type = "cpu", target_utilization = 60 },
    # Requests per second shared by all replicas: aim at 100 per replica.
    {
      type                 = "prometheus"
      address              = "http://prometheus.internal:9090"
      query                = "sum(rate(http_requests_total{service=\"shop-web\"}[1m]))"
      target_average_value = 100
    },
  ]

  tolerance  = 0.1
  scale_up   = { stabilization_window = "0s", max_step = 4, max_percent = 100 }
  scale_down = { stabilization_window = "5m", max_step = 1 }

  # Weekday business hours in Berlin: never fewer than 4.
  schedules = [{
    cron         = "0 8 * * 1-5"
    duration     = "10h"
    timezone     = "Europe/Berlin"
    min_replicas = 4
  }]
}

output "web_scaling" {
  value = "${swarm_scaling_policy.web.desired_replicas} replicas: ${swarm_scaling_policy.web.decision}"
}
