resource "swarm_service" "web" {
  name     = "shop-web"
  image    = "registry.example.com/shop/web:1.4.2"
  replicas = 3

  healthcheck = {
    test     = ["CMD", "/app/web", "healthcheck"]
    interval = "10s"
  }
}

# Every plan, and every HCP Terraform health assessment, warns when the service is degraded:
# fewer healthy replicas than desired, or a rollout that paused or was rolled back. A failing
# check never blocks an apply.
check "web_health" {
  data "swarm_service_status" "web" {
    id = swarm_service.web.id
  }

  assert {
    condition     = data.swarm_service_status.web.healthy
    error_message = data.swarm_service_status.web.summary
  }
}

# A service this configuration does not manage, by name, with its latest failures.
data "swarm_service_status" "payments" {
  name = "payments"
}

output "payments_errors" {
  value = [for e in data.swarm_service_status.payments.recent_errors : "${e.at} slot ${coalesce(e.slot, 0)} on ${e.node}: ${e.error}"]
}
