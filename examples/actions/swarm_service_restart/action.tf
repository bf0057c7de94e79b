# terraform apply -invoke=action.swarm_service_restart.api
action "swarm_service_restart" "api" {
  config {
    service_id = swarm_service.api.id
    timeout    = "10m"
  }
}
