# The autoscaling controller: one task on every manager, of which the one on the swarm's Raft
# leader decides and scales, every interval, each scaling policy whose evaluation is
# "continuous". Use the image of the provider's own version.
resource "swarm_autoscaler" "this" {
  image    = "swarmform/swarm-autoscaler:0.1.0"
  interval = "10s"

  resources = {
    limits       = { cpus = 0.25, memory = "64MiB" }
    reservations = { cpus = 0.05, memory = "32MiB" }
  }

  # Only needed for metrics read from a Prometheus: the overlay network it is on.
  networks = [swarm_network.monitoring.id]
}

resource "swarm_network" "monitoring" {
  name       = "monitoring"
  attachable = true
}

# A policy the controller decides: no terraform run is needed for the service to scale, and
# a plan shows the controller's latest decision without planning a change for it.
resource "swarm_scaling_policy" "web" {
  service_id   = "shop-web"
  min_replicas = 2
  max_replicas = 10
  evaluation   = "continuous"

  metrics = [{
    type                 = "prometheus"
    address              = "http://prometheus:9090"
    query                = "sum(rate(http_requests_total{service=\"shop-web\"}[1m]))"
    target_average_value = 100
  }]
}
