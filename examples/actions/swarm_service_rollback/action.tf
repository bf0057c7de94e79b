# terraform apply -invoke=action.swarm_service_rollback.api
# The configuration still declares the newer spec: change it too, or the next apply rolls forward.
action "swarm_service_rollback" "api" {
  config {
    service_id = swarm_service.api.id
  }
}
